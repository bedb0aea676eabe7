"""``hyflex serve --workers N``: N nodes on one machine, one process each (its own event loop,
media relay and CPU core), on ports PORT, PORT+1, ..., PORT+N-1, sharing the database and Redis
like nodes on several machines. The front proxy lists those ports (deploy/nginx/hyflex.conf),
which routes each session to one of them.

This process only supervises: it starts the nodes, restarts one that dies (at most
``MAX_RESTARTS`` in ``RESTART_WINDOW_SECONDS``, then it stops them all and fails), and on
SIGTERM or SIGINT passes SIGTERM on to every node and waits for them (each hands its sessions
over), killing what is left after ``STOP_SECONDS``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

from server.settings import Settings

MAX_WORKERS = 256
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0
STOP_SECONDS = 30.0
POLL_SECONDS = 0.2


def why_not(settings: Settings, workers: int) -> str | None:
    """A sentence saying why these settings cannot run ``workers`` nodes, or None."""
    if not 1 <= workers <= MAX_WORKERS:
        return f"--workers must be between 1 and {MAX_WORKERS}"
    if workers == 1:
        return None
    if not settings.redis_url:
        return "--workers needs HYFLEX_REDIS_URL: the nodes share live sessions through Redis"
    if settings.resolved_database_url.startswith("sqlite"):
        return "--workers needs a shared database server (HYFLEX_DATABASE_URL=postgresql+...)"
    if settings.port == 0 or settings.port + workers - 1 > 65535:
        return "--workers needs a fixed --port with room for one port per worker"
    return None


@dataclass
class Worker:
    port: int
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        # a session of its own: a Ctrl-C in the terminal reaches the supervisor only, which
        # passes one SIGTERM on (a second signal would make uvicorn skip the hand-over)
        self.process = subprocess.Popen(self.argv, start_new_session=True)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def worker_argv(settings: Settings, port: int, log_level: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--host",
        settings.host,
        "--port",
        str(port),
        "--no-migrate",
        "--log-level",
        log_level,
    ]


class Supervisor:
    def __init__(self, settings: Settings, workers: int, log_level: str) -> None:
        self.workers = [
            Worker(port, worker_argv(settings, port, log_level))
            for port in range(settings.port, settings.port + workers)
        ]
        self.stopping = False
        self.host = settings.host

    def _stop_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._stop_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for worker in self.workers:
                worker.start()
            ports = [w.port for w in self.workers]
            print(
                f"hyflex: {len(ports)} nodes on ports {ports[0]}-{ports[-1]}; the front proxy's "
                "upstream (deploy/nginx/hyflex.conf):\n    "
                + "\n    ".join(upstream_lines(self.host, ports)),
                flush=True,
            )
            code = self._watch()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _watch(self) -> int:
        while not self.stopping:
            for worker in self.workers:
                if worker.running() or self.stopping:
                    continue
                now = time.monotonic()
                worker.restarts = [t for t in worker.restarts if now - t < RESTART_WINDOW_SECONDS]
                if len(worker.restarts) >= MAX_RESTARTS:
                    print(
                        f"hyflex: the node on port {worker.port} keeps stopping; stopping all",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
                code = worker.process.returncode if worker.process else None
                print(
                    f"hyflex: the node on port {worker.port} stopped ({code}); restarting it",
                    file=sys.stderr,
                    flush=True,
                )
                worker.restarts.append(now)
                worker.start()
            time.sleep(POLL_SECONDS)
        return 0

    def _stop_all(self) -> None:
        alive = [w.process for w in self.workers if w.process is not None and w.running()]
        for process in alive:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in alive:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def run_workers(settings: Settings, workers: int, log_level: str) -> int:
    return Supervisor(settings, workers, log_level).run()


def upstream_lines(host: str, ports: Sequence[int]) -> list[str]:
    """nginx upstream ``server`` lines for these nodes."""
    return [f"server {host}:{port} max_fails=2 fail_timeout=10s;" for port in ports]
