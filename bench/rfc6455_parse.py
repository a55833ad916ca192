"""``python -m bench.rfc6455_parse``: the old inline parser against rfc6455, per message, no server.

    python -m bench.rfc6455_parse               # old = seam/inline_ws.py at OLD_REF
    python -m bench.rfc6455_parse --ref HEAD~1  # any commit that still has the old parser

``bench.ab`` compares settings of one tree; this compares two parsers on the same machine in one
run, alternating old and new sample by sample. Both drivers read from a fake socket whose
``recv`` returns the prepared bytes at once, so what is timed is ``wait()``: parsing, unmasking,
decoding and the driver's own bookkeeping. Figures are median µs per message.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

from rfc6455 import connection
from rfc6455.protocol import ServerProtocol

ROOT = Path(__file__).resolve().parent.parent
#: The last commit with the parser inside seam/inline_ws.py.
OLD_REF = "f08de34"
MASK = b"\x37\xfa\x21\x3d"


def old_module(ref: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{ref}:seam/inline_ws.py"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    module = types.ModuleType("old_inline_ws")
    exec(compile(source, "old_inline_ws.py", "exec"), module.__dict__)
    return module


def masked(payload: bytes, opcode: int = 0x1) -> bytes:
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    else:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    return header + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


class FakeSocket:
    """Hands out the same bytes on every recv; takes every send."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, n: int) -> bytes:
        return self.data

    def send(self, data: bytes, flags: int = 0, timeout: float | None = None) -> int:
        return len(data)


def per_message(run: Callable[[int], None], count: int, messages_per_call: int = 1) -> float:
    """µs per message of one sample."""
    gc.disable()
    try:
        started = time.perf_counter()
        run(count)
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    return elapsed / (count * messages_per_call) * 1e6


def waits(make: Callable[[], object]) -> Callable[[int], None]:
    def run(count: int) -> None:
        ws = make()
        wait = ws.wait  # type: ignore[attr-defined]
        for _ in range(count):
            wait()

    return run


def sends(make: Callable[[], object], message: str) -> Callable[[int], None]:
    def run(count: int) -> None:
        ws = make()
        send = ws.send  # type: ignore[attr-defined]
        for _ in range(count):
            send(message)

    return run


def protocol_only(data: bytes) -> Callable[[int], None]:
    def run(count: int) -> None:
        protocol = ServerProtocol(1_000_000)
        receive, next_event = protocol.receive_data, protocol.next_event
        for _ in range(count):
            receive(data)
            next_event()
            next_event()

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.rfc6455_parse", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--ref", default=OLD_REF, help="commit with the old seam/inline_ws.py")
    parser.add_argument("--samples", type=int, default=21)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args(argv)
    old = old_module(args.ref)
    small = masked(b'42["sendMessage",{"message":"hello everyone, how are you?!"}]'[:54])
    assert len(small) == 60
    large = masked(b'42["sendMessage",{"message":"' + b"x" * (8192 - 34) + b'"}]')
    reply = '42["helloBack",{"message":"Hello back!"}]'
    flood = small * (16384 // len(small))

    def make_old(data: bytes) -> Callable[[], object]:
        return lambda: old.InlineWebSocket(FakeSocket(data), 1_000_000)

    def make_new(data: bytes) -> Callable[[], object]:
        return lambda: connection.InlineWebSocket(FakeSocket(data), 1_000_000)

    cases = [
        ("wait(): 60-byte frame, one per recv", small, 1, waits(make_old(small)), waits(make_new(small))),
        ("wait(): 8 KB frame, one per recv", large, 1, waits(make_old(large)), waits(make_new(large))),
        ("send(): 41-char reply", b"", 1, sends(make_old(b""), reply), sends(make_new(b""), reply)),
        # A client that pipelines: the new driver yields (gevent.sleep(0)) before each message
        # that needs no recv, so one flooding connection cannot starve the others.
        ("wait(): 273 60-byte frames per recv", flood, 1, waits(make_old(flood)), waits(make_new(flood))),
    ]
    print(f"old: seam/inline_ws.py at {args.ref}; new: rfc6455 (working tree)")
    print(f"median of {args.samples} samples; µs per message (lower is better)\n")
    print(f"{'case':44} {'old':>8} {'new':>8} {'new/old':>8}")
    for name, _data, per_call, run_old, run_new in cases:
        count = args.count // 4 if "8 KB" in name else args.count
        old_figures, new_figures = [], []
        per_message(run_old, count // 10)  # warm up
        per_message(run_new, count // 10)
        for _ in range(args.samples):
            old_figures.append(per_message(run_old, count, per_call))
            new_figures.append(per_message(run_new, count, per_call))
        o, n = statistics.median(old_figures), statistics.median(new_figures)
        print(f"{name:44} {o:8.3f} {n:8.3f} {n / o:8.2f}")
    for name, data in [("protocol only: 60-byte frame", small), ("protocol only: 8 KB frame", large)]:
        figures = [per_message(protocol_only(data), args.count) for _ in range(args.samples)]
        print(f"{name:44} {'':8} {statistics.median(figures):8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
