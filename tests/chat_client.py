"""A chat user for tests: python-socketio's client, with what it received kept in order."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import socketio


class ChatUser:
    """One connected user; ``received`` holds every ``message`` event, ``presence`` each room's member
    list as a page keeps it: the join ack's, then every ``presence`` change (``changes`` keeps those)."""

    def __init__(
        self, url: str, transports: list[str] | None = None, name: str = "ann", fill_gaps: bool = False
    ) -> None:
        self.name = name
        #: room -> seq -> message, live or replayed; with ``fill_gaps`` a jump in seq makes it join
        #: again with ``since`` (what the page does), so a lost broadcast is fetched from the history.
        self.by_seq: dict[str, dict[int, dict]] = {}
        self._floor: dict[str, int] = {}
        self.fill_gaps = fill_gaps
        self.refills = 0
        self.client = socketio.Client(reconnection=False)
        self.received: list[dict] = []
        self.presence: dict[str, list[str]] = {}
        self.changes: list[dict] = []
        self.errors: list[dict] = []
        self.hellos: list[str] = []
        self._lock = threading.Lock()
        self.client.on("message", self._on_message)
        self.client.on("presence", self._on_presence)
        self.client.on("error", self.errors.append)
        self.client.on("helloBack", lambda data: self.hellos.append(data["message"]))
        self.client.connect(url, transports=transports or ["websocket"], wait_timeout=10)

    def _on_message(self, data: dict) -> None:
        with self._lock:
            self.received.append(data)
            self.by_seq.setdefault(data["room"], {})[data["seq"]] = data
            gap = data["seq"] > self._contiguous(data["room"]) + 1
        if gap and self.fill_gaps:
            threading.Thread(target=self._fill, args=(data["room"],), daemon=True).start()

    def _contiguous(self, room: str) -> int:
        """The last seq of the room up to which nothing is missing."""
        seq, seen = self._floor.get(room, 0), self.by_seq.get(room, {})
        while seq + 1 in seen:
            seq += 1
        return seq

    def _fill(self, room: str) -> None:
        with self._lock:
            self.refills += 1
            last = self._contiguous(room)
            since = self.by_seq[room][last]["id"] if last in self.by_seq.get(room, {}) else 0
        while True:
            ack = self.join(room, since)
            if not ack.get("ok") or not ack["truncated"]:
                return
            since = ack["history"][-1]["id"]

    def seqs(self, room: str) -> list[int]:
        with self._lock:
            return sorted(self.by_seq.get(room, {}))

    def _on_presence(self, change: dict) -> None:
        with self._lock:
            self.changes.append(change)
            names = set(self.presence.get(change["room"], []))
            if "joined" in change:
                names.add(change["joined"])
            else:
                names.discard(change["left"])
            self.presence[change["room"]] = sorted(names)

    def call(self, event: str, data: Any = None) -> Any:
        return self.client.call(event, data, timeout=10)

    def join(self, room: str, since: int | None = None) -> dict:
        payload: dict[str, Any] = {"room": room, "name": self.name}
        if since is not None:
            payload["since"] = since
        answered = threading.Event()
        acks: list[Any] = []

        def on_ack(ack: Any = None, *_: Any) -> None:
            # Here, in the order the client reads packets, not after call() returns: a presence
            # change sent right after this ack must apply to the ack's list, not be overwritten by it.
            if isinstance(ack, dict) and ack.get("ok"):
                with self._lock:
                    self.presence[room] = list(ack["members"])
                    seen = self.by_seq.setdefault(room, {})
                    history = ack["history"]
                    if room not in self._floor:
                        self._floor[room] = history[0]["seq"] - 1 if history else 0
                    for message in history:
                        seen[message["seq"]] = message
            acks.append(ack)
            answered.set()

        self.client.emit("join", payload, callback=on_ack)
        if not answered.wait(10):
            raise TimeoutError("no ack for join")
        return acks[0]

    def say(self, room: str, text: str, client_id: str | None = None) -> dict:
        return self.call("message", {"room": room, "text": text, "client_id": client_id or uuid.uuid4().hex})

    def hello(self) -> str:
        """The demo round trip: proves the connection still works."""
        before = len(self.hellos)
        self.client.emit("sendMessage", {"message": "hi"})
        wait_for(lambda: len(self.hellos) > before)
        return self.hellos[-1]

    def texts(self, room: str) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.received if m["room"] == room]

    def close(self) -> None:
        self.client.disconnect()


def wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        time.sleep(0.02)


def new_room() -> str:
    """A room no other test uses."""
    return f"room-{uuid.uuid4().hex[:8]}"


def connected_users(url: str) -> Iterator[Callable[..., list[ChatUser]]]:
    """For a fixture: ``users('ann', 'bob', transports=[...])`` connects chat users closed afterwards."""
    made: list[ChatUser] = []

    def connect(*names: str, transports: list[str] | None = None, url: str = url) -> list[ChatUser]:
        new = [ChatUser(url, transports, name) for name in names]
        made.extend(new)
        return new

    yield connect
    for user in made:
        if user.client.connected:
            user.close()
