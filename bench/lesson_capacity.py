"""Benchmark: what one lesson costs the relay and the server, so lessons per core.

One lesson:
- the teacher publishes camera (640x480 camera-like VP8, about 0.5 Mbps), microphone (Opus,
  50 packets a second) and screen (slides-like: a mostly static picture, labelled "greybar");
- 4 sites and 20 remote students receive all three (24 subscribers, 72 tracks);
- the 4 sites publish camera and microphone back; the teacher receives the 4 site feeds;
- 120 students and the teacher on websockets (uvicorn + server.app): the session is started, a
  poll opens every minute (students answer within 2-20 s), each student sends attention and
  media telemetry every 5 s.

Processes: the relay (streaming.MediaRoom) and the server under test each in their own
process; publishers, subscribers (light: frames counted from RTP marker bits) and websocket
clients are load generators in other processes, their CPU is not counted. Relay and server
CPU come from /proc/<pid>/stat over one window. Reported: CPU per lesson (relay + server),
lessons per core, the slowest subscriber's frame rate per track kind, and the websocket p99
(send of a command to its ack).

    .venv/bin/python bench/lesson_capacity.py            # 60 s window (one poll)
    .venv/bin/python bench/lesson_capacity.py --quick    # 30 s window

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._janus import relay_main as janus_relay_main
from bench._media_content import prepare
from bench._media_roles import (
    Child,
    cpu_seconds,
    cpu_split,
    publisher_main,
    relay_main,
    request,
    subscriber_main,
)
from bench._ws_proc import merge_hist, percentile_ms, spawn, start_server, wait_idle
from bench._ws_seed import seed

SITES = 4
REMOTE = 20
WS_STUDENTS = 120
PEERS_PER_PROCESS = 8
LESSON = __file__  # this script: its roles (relay, janus, publisher, subscriber)
GOALS = {"lessons_per_core": 10.0, "fps_min": 29.0, "ws_p99_ms": 150.0}


async def seed_lesson(tmp: Path) -> tuple[dict[str, str], int, list[str], str]:
    from server.app import create_app
    from server.demo import seed_demo
    from server.domain.roles import Role
    from server.settings import Settings

    env = {
        "HYFLEX_DATA_DIR": str(tmp / "data"),
        "HYFLEX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'lesson.db'}",
        "HYFLEX_SECRET_KEY": secrets.token_urlsafe(48),
    }
    settings = Settings(
        data_dir=tmp / "data", database_url=env["HYFLEX_DATABASE_URL"],
        secret_key=env["HYFLEX_SECRET_KEY"],
    )  # fmt: skip
    seeded = await seed(settings, WS_STUDENTS)
    services = create_app(settings).state.services
    try:
        demo = await seed_demo(services.sessions)  # idempotent: the same demo, its teacher
        assert demo.teacher.id is not None
        teacher = services.signer.issue(
            user_id=demo.teacher.id, role=Role.TEACHER, typ="access", now=time.time(),
            ttl_seconds=3600,
        )  # fmt: skip
    finally:
        await services.engine.dispose()
    return env, seeded.session_id, seeded.tokens, str(teacher)


async def start_relay(children: list[Child], relay_role: str = "relay") -> tuple[str, int]:
    """The relay process (``relay_role`` "janus": the Janus translator, bench/_janus.py); its
    port and the PID whose CPU is the relay's (Janus's own for "janus")."""
    relay = await Child.start(__file__, "--role", relay_role)
    children.append(relay)
    ready = await relay.read()
    return str(ready["port"]), int(ready.get("pid", relay.proc.pid))


async def stop_all(children: list[Child], subs: list[Child]) -> None:
    """Stop the media children, newest first; subscribers are told to quit first."""
    for child in reversed(children):
        if child in subs:
            await child.command("quit")
        await child.stop()


async def start_media(
    content: str, children: list[Child], relay_role: str = "relay"
) -> tuple[int, int, list[Child]]:
    """Relay, 5 publishers, then 24 + 1 subscribers; returns the PID whose CPU is the relay's,
    its port and the subscribers. ``relay_role`` "janus": Janus's VideoRoom relays instead
    (bench/_janus.py; the PID is Janus's)."""
    port, relay_pid = await start_relay(children, relay_role)
    publishers = [
        await Child.start(__file__, "--role", "publisher", "--port", port, "--content", content,
                          "--pid", "teacher", "--video", "480p,greybar")
    ]  # fmt: skip
    for site in range(SITES):
        publishers.append(
            await Child.start(__file__, "--role", "publisher", "--port", port, "--content",
                              content, "--pid", f"site{site}", "--video", "480p")
        )  # fmt: skip
    children.extend(publishers)
    for publisher in publishers:
        await publisher.read()
    subs: list[Child] = []
    remaining, index = SITES + REMOTE, 0
    while remaining > 0:
        count = min(PEERS_PER_PROCESS, remaining)
        subs.append(
            await Child.start(__file__, "--role", "subscriber", "--port", port,
                              "--prefix", f"v{index}-", "--count", str(count),
                              "--publishers", "teacher", "--labels", "camera,microphone,screen")
        )  # fmt: skip
        remaining -= count
        index += 1
    sites = ",".join(f"site{i}" for i in range(SITES))
    subs.append(
        await Child.start(__file__, "--role", "subscriber", "--port", port, "--prefix",
                          "teacher-", "--count", "1", "--publishers", sites,
                          "--labels", "camera,microphone")
    )  # fmt: skip
    children.extend(subs)
    for sub in subs:
        await sub.read(180)
    return relay_pid, int(port), subs


async def count_frames(subs: list[Child]) -> list[dict[str, int]]:
    frames: list[dict[str, int]] = []
    for sub in subs:
        await sub.command("count")
        frames.extend((await sub.read())["frames"])
    return frames


async def orchestrate(window: float) -> dict[str, Any]:
    children: list[Child] = []
    subs: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="lesson-bench-") as tmp:
        content = str(prepare(["480p", "greybar"], Path(tmp)))
        env, session_id, tokens, teacher = await seed_lesson(Path(tmp))
        server, ws_port = await start_server("ours", env)
        clients = await spawn("lesson-ws", "_lesson_ws.py")
        try:
            url = f"ws://127.0.0.1:{ws_port}/ws/sessions/{session_id}"
            await clients.call(
                {"cmd": "connect", "url": url, "teacher": teacher, "students": tokens}, 120
            )
            relay_pid, relay_port, subs = await start_media(content, children)
            await wait_idle(server.pid, limit_s=20)
            before = await count_frames(subs)
            cpu0 = {"relay": cpu_seconds(relay_pid), "server": cpu_seconds(server.pid)}
            split0 = cpu_split(relay_pid)
            t0 = time.monotonic()
            ws = await clients.call(
                {"cmd": "run", "seconds": window, "poll_every": 60, "telemetry_every": 5},
                window + 60,
            )
            elapsed = time.monotonic() - t0
            cpu1 = {"relay": cpu_seconds(relay_pid), "server": cpu_seconds(server.pid)}
            split1 = cpu_split(relay_pid)
            after = await count_frames(subs)
            reader, writer = await asyncio.open_connection("127.0.0.1", relay_port)
            health = await request(reader, writer, {"op": "health"})
            writer.close()
        finally:
            await stop_all(children, subs)
            await clients.stop()
            await server.stop()
    rates: dict[str, list[float]] = {}
    lowest: list[tuple[float, str]] = []
    for peer, (a, b) in enumerate(zip(after, before, strict=True)):
        for name, frames in a.items():
            rate = (frames - b[name]) / elapsed
            rates.setdefault(name[:5], []).append(rate)
            lowest.append((round(rate, 1), f"peer{peer}/{name}"))
    cpu = {k: (cpu1[k] - cpu0[k]) / elapsed * 100 for k in cpu0}
    per_lesson = cpu["relay"] + cpu["server"]
    hist = merge_hist([ws["hist"]])
    result = {
        "bench": "lesson_capacity",
        "window_s": round(elapsed, 1),
        "relay_cpu_pct_per_lesson": round(cpu["relay"], 2),
        "server_cpu_pct_per_lesson": round(cpu["server"], 2),
        "relay_user_system_pct": [
            round((b - a) / elapsed * 100, 2) for a, b in zip(split0, split1, strict=True)
        ],
        "cpu_pct_per_lesson": round(per_lesson, 2),
        "lessons_per_core": round(100 / per_lesson, 1),
        # the server's work is the same in every run: this ratio moves less with the
        # machine's speed than either CPU figure (see docs/benchmarks.md)
        "relay_to_server_cpu": round(cpu["relay"] / cpu["server"], 2) if cpu["server"] else None,
        "video_fps_min": round(min(rates["video"]), 1),
        "audio_pps_min": round(min(rates["audio"]), 1),
        "lowest_rates": sorted(lowest)[:6],
        "relay_health": health,
        "ws_p50_ms": percentile_ms(hist, 0.50),
        "ws_p99_ms": percentile_ms(hist, 0.99),
        "ws_acks": ws["acks"],
        "ws_errors": ws["errors"],
        "polls": ws["polls"],
        "poll_answers": ws["answers"],
        "goals": GOALS,
        "cores": os.cpu_count(),
        "note": "machine shared with other work during the run",
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--role", default="main")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pid", default="teacher")
    parser.add_argument("--content", default="")
    parser.add_argument("--video", default="480p")
    parser.add_argument("--prefix", default="s")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--publishers", default="teacher")
    parser.add_argument("--labels", default="camera")
    args = parser.parse_args()
    if args.role == "relay":
        uvloop.run(relay_main("ours"))  # the server's loop (uvicorn[standard])
    elif args.role == "janus":
        janus_relay_main()
    elif args.role == "publisher":
        videos = args.video.split(",")
        asyncio.run(publisher_main(args.port, args.pid, args.content, videos, True))
    elif args.role == "subscriber":
        publishers, labels = args.publishers.split(","), args.labels.split(",")
        asyncio.run(subscriber_main(args.port, args.prefix, args.count, publishers, labels, 0))
    else:
        started = time.monotonic()
        result = asyncio.run(orchestrate(30.0 if args.quick else 60.0))
        result["runtime_s"] = round(time.monotonic() - started, 1)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
