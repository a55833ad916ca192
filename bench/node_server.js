// The bench's third server: the reference Socket.IO server (socket.io 4.8.4, pinned in
// package.json) on Node, with the same events and shapes as bench/baseline.py, so the same
// load generator drives all three and the ratios say how far the gateway is from Node.
//
// usage: PORT=5000 node bench/node_server.js   (listens on 127.0.0.1:$PORT; GET /healthz -> 200)
//
// Library defaults, nothing tuned (socket.io 4.8 / engine.io 6.6):
//   transports polling + websocket, allowUpgrades on, upgradeTimeout 10 s;
//   pingInterval 25 s, pingTimeout 20 s, connectTimeout 45 s;
//   perMessageDeflate OFF (engine.io's default), httpCompression ON (threshold 1 KiB: the
//   bench's packets are smaller, so nothing is compressed), maxHttpBufferSize 1 MB;
//   no cors (the load generator is not a browser), no connection state recovery, in-memory adapter.
// One process, one event loop: the same shape as the gateway's one gevent worker.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 5000);
const host = process.env.HOST || "127.0.0.1";

const httpServer = http.createServer((req, res) => {
  // socket.io answers /socket.io/ itself and hands every other request here.
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ status: "ok", profile: "node" }));
    return;
  }
  res.writeHead(404, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ error: "not_found" }));
});

const io = new Server(httpServer);
let nextId = 1;

io.on("connection", (socket) => {
  socket.on("sendMessage", () => {
    socket.emit("helloBack", { message: "Hello back!" });
  });

  socket.on("join", (data, ack) => {
    const room = data && data.room;
    socket.join(room);
    if (typeof ack === "function") {
      ack({ ok: true, room, members: [], history: [], truncated: false });
    }
  });

  socket.on("message", (data, ack) => {
    const sent = {
      id: nextId++,
      room: data.room,
      name: socket.id,
      text: data.text,
      ts: Date.now() / 1000,
    };
    io.to(data.room).emit("message", { ...sent, client_id: data.client_id });
    if (typeof ack === "function") ack({ ok: true, id: sent.id, ts: sent.ts });
  });
});

httpServer.listen(port, host, () => {
  process.stdout.write(`node socket.io server on http://${host}:${port}\n`);
});

// The runner stops servers with SIGTERM: close at once, as gunicorn's workers do.
process.on("SIGTERM", () => process.exit(0));
