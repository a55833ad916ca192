"""What one bench run does: counts and durations, bounded, full or quick."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One scenario with its parameters; ``clients`` is receivers for fan-out, WebSockets for idle."""

    kind: str  # roundtrip, fanout, storm, idle, capacity, flood
    transport: str  # for a flood: which one (bench/scenarios.py FLOOD_SCENARIOS)
    clients: int
    duration_s: float  # measured window, or the hold time for idle
    polling: int = 0  # idle: polling clients held beside the WebSockets
    compare: bool = True  # run against the baseline and Node too
    rooms: int = 0  # storm: the rooms its clients are spread over

    @property
    def label(self) -> str:
        if self.kind == "storm":
            return f"storm ws {self.clients} clients, {self.rooms} rooms"
        if self.kind == "flood":
            return f"flood {self.transport}, {self.clients} clients beside it"
        if self.kind in ("idle", "capacity"):
            return f"{self.kind} {self.clients} ws + {self.polling} polling"
        noun = "receivers" if self.kind == "fanout" else "clients"
        return f"{self.kind} {self.transport} {self.clients} {noun}"


@dataclass(frozen=True)
class Plan:
    rounds: int
    load_steps: tuple[Step, ...]
    idle_rounds: int
    idle_steps: tuple[Step, ...]
    #: Gateway only (the baseline has no defence to compare): each with the budget on and off.
    flood_steps: tuple[Step, ...] = ()
    #: Node load generator processes per load scenario, sharing its clients (docs/decisions.md).
    load_processes: int = 1

    def describe(self) -> str:
        return (
            f"{self.rounds} alternating rounds of {len(self.load_steps)} load scenarios, "
            f"{self.idle_rounds} of {len(self.idle_steps)} idle ones, {len(self.flood_steps)} floods; "
            f"{self.load_processes} load process(es)"
        )


FLOODS = ("none", "noop", "unknown_event", "empty_continuation", "pipelined_polling")


#: Load processes unless --load-processes says otherwise (measured: docs/decisions.md).
LOAD_PROCESSES = 1


def plan_for(
    quick: bool = False,
    only: list[str] | None = None,
    rounds: int | None = None,
    load_processes: int | None = None,
) -> Plan:
    floods = [Step("flood", kind, 5, 1.5 if quick else 4) for kind in FLOODS]
    if quick:
        load = [Step("roundtrip", t, n, 1.5) for t in ("websocket", "polling") for n in (1, 20)]
        load += [Step("fanout", t, 20, 1.5) for t in ("websocket", "polling")]
        load.append(Step("storm", "websocket", 200, 0, rooms=10))
        idle = [Step("idle", "both", 50, 2, polling=50)]
        default_rounds = 1
    else:
        load = [Step("roundtrip", t, n, 4) for t in ("websocket", "polling") for n in (1, 50, 200)]
        load += [Step("fanout", t, 200, 4) for t in ("websocket", "polling")]
        load.append(Step("storm", "websocket", 5000, 0, rooms=50))
        idle = [
            Step("idle", "both", 2000, 30, polling=1000),
            Step("capacity", "both", 10_000, 30, polling=1000, compare=False),
        ]
        default_rounds = 3
    if only:
        load = [s for s in load if s.kind in only]
        idle = [s for s in idle if s.kind in only]
        floods = [s for s in floods if s.kind in only]
    rounds = rounds or default_rounds
    processes = load_processes or LOAD_PROCESSES
    return Plan(rounds, tuple(load), 1, tuple(idle), tuple(floods), processes)
