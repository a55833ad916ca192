"""Chat events, rooms and history: the Socket.IO handlers of the gateway."""
