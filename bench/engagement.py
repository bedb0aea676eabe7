"""Benchmark of the pure engagement engine on a virtual clock.

2,000 students (10 sites of 150 and 500 remote) send attention telemetry every 2 s, answer a
poll every 60 s, and follow seeded random behaviour (tab hidden for a while, confusion
episodes at one site at a time) so that states change, pulses go out and alerts fire; one
teacher; the engine ticks once per virtual second.

Measured:
- latency: wall-clock processing time of each ingest/tick call that produced a site pulse or
  an alert (the engine's own work between a signal's arrival and the output it causes; the
  deliberate hysteresis windows are virtual time and not part of it), p50/p99/max;
- CPU per signal: process CPU time of the engine calls (signals prepared outside the timed
  region; ticks included) divided by the signals ingested;
- side by side, A B A B on the same script: an obvious naive alternative that recomputes every
  site's aggregate from all students after every signal, and the ratio;
- over real websockets (``bench/_engagement_ws.py``: a server process, a class of
  ``--ws-students`` students across the four demo sites and remote, the teacher and four
  facilitators): "I'm confused" press -> the name's frame at the teacher and the student's
  facilitator, and "Seen" / withdraw / expiry -> the clearing frame, p50/p95 (goal: p95 within
  1 s); ``--ws-rounds 0`` skips it.

Usage: .venv/bin/python bench/engagement.py [--seconds 600] [--compare-seconds 20]
       [--ws-students 120] [--ws-rounds 6] [--ws-burst 8]
The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._engagement_ws import measure
from server.domain.engagement import (
    Alert,
    AnswerResult,
    Attention,
    ConfusedPressed,
    EngagementEngine,
    EngagementSettings,
    Output,
    Signal,
    SitePulse,
)
from server.domain.engagement.site import SiteTally
from server.domain.engagement.states import StudentState
from server.domain.roles import Actor, Role

STUDENTS = 2000
SITES: dict[int | None, str] = {i: f"Site {i}" for i in range(1, 11)}
SITES[None] = "Remote"
GROUPS = ("fractions", "decimals", "ratios", "percentages")

Call = tuple[Signal, float, Actor | None]


class NaiveEngine(EngagementEngine):
    """Baseline: after every signal, rebuild every site's tally from all students and re-judge."""

    def ingest(self, signal: Signal, now: float, actor: Actor | None) -> list[Output]:
        out = super().ingest(signal, now, actor)
        self._recount(now, out)
        return out

    def _recount(self, now: float, out: list[Output]) -> None:
        fresh = {site_id: SiteTally(site_id, t.name) for site_id, t in self._tallies.items()}
        for tracker in self._students.values():
            fresh[tracker.site_id].add(tracker.user_id, tracker.state)
        for site_id, tally in fresh.items():
            old = self._tallies[site_id]
            tally.help_at, tally.help_by, tally.judgement = old.help_at, old.help_by, old.judgement
            self._tallies[site_id] = tally
            tally.judgement = tally.judge(now, self.settings)
            out.append(self._pulse(tally, tally.judgement, now))


class Script:
    """Seeded behaviour of 2,000 students; yields each virtual second's signals."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.site_of: dict[int, int | None] = {}
        uid = 10_000
        for site in range(1, 11):
            for _ in range(150):
                uid += 1
                self.site_of[uid] = site
        while len(self.site_of) < STUDENTS:
            uid += 1
            self.site_of[uid] = None
        self.actors = {u: Actor(u, Role.STUDENT, s) for u, s in self.site_of.items()}
        self.ids = list(self.site_of)
        self.hidden_until: dict[int, int] = {}

    def engine(self, cls: type[EngagementEngine]) -> EngagementEngine:
        engine = cls(EngagementSettings(), SITES)
        for uid, site in self.site_of.items():
            engine.register_student(uid, site, 0.0)
        return engine

    def seconds(self, total: int) -> Iterator[tuple[float, list[Call]]]:
        rng = self.rng
        for t in range(1, total + 1):
            calls: list[Call] = []
            if t % 120 == 30:  # a confusion episode at one site
                site = rng.randint(1, 10)
                for uid in self.ids:
                    if self.site_of[uid] == site and rng.random() < 0.35:
                        calls.append((ConfusedPressed(uid), 0.0, self.actors[uid]))
            half = [u for u in self.ids if (u + t) % 2 == 0]
            for uid in half:
                until = self.hidden_until.get(uid)
                if until is None and rng.random() < 0.004:
                    until = self.hidden_until[uid] = t + rng.randint(20, 90)
                elif until is not None and t >= until:
                    del self.hidden_until[uid]
                    until = None
                hidden = until is not None
                calls.append((Attention(uid, not hidden, not hidden, 2.0), 0.0, self.actors[uid]))
            if t % 60 < 20:  # a poll every minute: answers arrive over 20 s
                question = f"Q{t // 60}"
                group = GROUPS[(t // 60) % len(GROUPS)]
                for uid in self.ids[(t % 60) * 100 : (t % 60 + 1) * 100]:
                    correct = rng.random() < 0.75
                    signal = AnswerResult(uid, question, group, correct, rng.uniform(3, 40))
                    calls.append((signal, 0.0, None))
            rng.shuffle(calls)
            step = 1.0 / (len(calls) + 1)
            yield float(t), [(s, t - 1 + (i + 1) * step, a) for i, (s, _, a) in enumerate(calls)]


def run(cls: type[EngagementEngine], seconds: int, seed: int) -> dict[str, float]:
    script = Script(seed)
    engine = script.engine(cls)
    caused: list[float] = []  # ns of calls that produced a pulse or an alert
    ticks: list[float] = []
    every: list[int] = []
    signals = pulses = alerts = 0
    cpu = 0.0
    perf = time.perf_counter_ns
    gc.collect()
    for t, calls in script.seconds(seconds):
        c0 = time.process_time()
        for signal, now, actor in calls:
            a = perf()
            out = engine.ingest(signal, now, actor)
            d = perf() - a
            every.append(d)
            if out:
                n_p = sum(1 for o in out if isinstance(o, SitePulse))
                n_a = sum(1 for o in out if isinstance(o, Alert))
                pulses += n_p
                alerts += n_a
                if n_p or n_a:
                    caused.append(d)
        a = perf()
        out = engine.tick(t)
        d = perf() - a
        ticks.append(d)
        if any(isinstance(o, SitePulse | Alert) for o in out):
            caused.append(d)
            alerts += sum(1 for o in out if isinstance(o, Alert))
        cpu += time.process_time() - c0
        signals += len(calls)
    q = statistics.quantiles(caused, n=100) if len(caused) > 1 else [0.0] * 99
    qa = statistics.quantiles(every, n=100)
    qt = statistics.quantiles(ticks, n=100)
    states: dict[str, int] = {}
    for uid in script.ids:
        s = engine.student_state(uid).value
        states[s] = states.get(s, 0) + 1
    return {
        "signals": signals,
        "cpu_us_per_signal": cpu / signals * 1e6,
        "p50_ms": q[49] / 1e6,
        "p99_ms": q[98] / 1e6,
        "max_ms": max(caused, default=0) / 1e6,
        "outputs_timed": len(caused),
        "ingest_p99_us": qa[98] / 1e3,
        "tick_p99_ms": qt[98] / 1e6,
        "tick_max_ms": max(ticks) / 1e6,
        "pulses": pulses,
        "alerts": alerts,
        "final_confused": states.get(StudentState.CONFUSED.value, 0),
        "final_disengaged": states.get(StudentState.DISENGAGED.value, 0),
    }


MEASURES = (
    "press_to_teacher",
    "press_to_facilitator",
    "clear_to_teacher",
    "clear_to_facilitator",
    "expiry_to_staff",
)


def explicit_figures(args: argparse.Namespace) -> dict[str, object]:
    """The websocket measurement of explicit presses, printed and summarised for the JSON."""
    ws = asyncio.run(measure(args.ws_students, args.ws_rounds, args.ws_burst))
    for name in MEASURES:
        print(f"ws {name}: {ws[name]}")
    print(
        f"ws: {ws['ws_students']} students, {ws['ws_facilitators']} facilitators, "
        f"{ws['ws_presses']} presses, leaks {ws['leaks']}, "
        f"server CPU {ws['server_cpu_s']} s in {ws['rounds_wall_s']} s"
    )
    worst_p95 = max(ws[name]["p95_ms"] or 0.0 for name in MEASURES)
    return {
        "explicit_press_p50_ms": ws["press_to_teacher"]["p50_ms"],
        "explicit_press_p95_ms": ws["press_to_teacher"]["p95_ms"],
        "explicit_press_fac_p95_ms": ws["press_to_facilitator"]["p95_ms"],
        "explicit_clear_p50_ms": ws["clear_to_teacher"]["p50_ms"],
        "explicit_clear_p95_ms": ws["clear_to_teacher"]["p95_ms"],
        "explicit_clear_fac_p95_ms": ws["clear_to_facilitator"]["p95_ms"],
        "explicit_expiry_p95_ms": ws["expiry_to_staff"]["p95_ms"],
        "goal_explicit_p95_ms_1000": worst_p95 <= 1000.0 and ws["leaks"] == 0,
        "ws": ws,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="virtual seconds, main run")
    parser.add_argument("--compare-seconds", type=int, default=20, help="virtual s, A/B runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ws-students", type=int, default=120, help="students connected")
    parser.add_argument("--ws-rounds", type=int, default=6, help="press rounds (0: skip)")
    parser.add_argument("--ws-burst", type=int, default=8, help="students pressing at once")
    args = parser.parse_args()

    ours_ab: list[float] = []
    naive_ab: list[float] = []
    for rep in range(2):  # A B A B on the same script
        ours = run(EngagementEngine, args.compare_seconds, args.seed + rep)
        naive = run(NaiveEngine, args.compare_seconds, args.seed + rep)
        ours_ab.append(ours["cpu_us_per_signal"])
        naive_ab.append(naive["cpu_us_per_signal"])
        print(
            f"A/B {rep + 1}: ours {ours['cpu_us_per_signal']:.1f} us/signal, "
            f"naive {naive['cpu_us_per_signal']:.1f} us/signal "
            f"(naive p99 {naive['p99_ms']:.2f} ms)"
        )
    start = resource.getrusage(resource.RUSAGE_SELF)
    main_run = run(EngagementEngine, args.seconds, args.seed)
    end = resource.getrusage(resource.RUSAGE_SELF)
    rusage_cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
    print(
        f"main: {STUDENTS} students, {args.seconds} virtual s, {main_run['signals']} signals, "
        f"{main_run['pulses']} pulses, {main_run['alerts']} alerts; "
        f"p50 {main_run['p50_ms']:.3f} ms, p99 {main_run['p99_ms']:.3f} ms, "
        f"{main_run['cpu_us_per_signal']:.2f} us CPU/signal"
    )
    ours_med = statistics.median(ours_ab)
    naive_med = statistics.median(naive_ab)
    explicit = explicit_figures(args) if args.ws_rounds > 0 else {}
    result = {
        "bench": "engagement",
        "students": STUDENTS,
        "virtual_seconds": args.seconds,
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in main_run.items()},
        "rusage_cpu_s": round(rusage_cpu, 3),
        "rusage_us_per_signal_incl_generator": round(rusage_cpu / main_run["signals"] * 1e6, 2),
        "ab_ours_cpu_us_per_signal": round(ours_med, 2),
        "ab_naive_cpu_us_per_signal": round(naive_med, 2),
        "naive_over_ours": round(naive_med / ours_med, 1),
        "goal_p99_ms_100": main_run["p99_ms"] <= 100.0,
        "goal_cpu_us_20": main_run["cpu_us_per_signal"] <= 20.0,
        **explicit,
        "python": sys.version.split()[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
