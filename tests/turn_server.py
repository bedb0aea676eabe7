"""A real coturn (Debian's ``turnserver``) on loopback for tests: free ports, a temporary
config in a folder of the test's own, ``use-auth-secret`` like deploy/coturn/turnserver.conf."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
RELAY_PORTS = 40  # a small relay range of the test's own


@dataclass
class TurnServer:
    port: int
    secret: str
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def urls(self) -> list[str]:
        return [
            f"turn:127.0.0.1:{self.port}?transport=udp",
            f"turn:127.0.0.1:{self.port}?transport=tcp",
        ]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _free_range(count: int) -> int:
    """The first port of ``count`` consecutive free UDP+TCP ports (tried at random, bounded)."""
    for _ in range(50):
        start = random.randrange(20000, 32000 - count)
        if all(_free(p) for p in range(start, start + count)):
            return start
    raise RuntimeError("no free port range for coturn")


CONFIG = """\
# coturn for one test, on loopback only (written by tests/turn_server.py)
listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port={port}
min-port={min_port}
max-port={max_port}
use-auth-secret
static-auth-secret={secret}
realm=hyflex.test
fingerprint
no-tls
no-dtls
no-cli
no-multicast-peers
# The relay (aiortc in the test's server) listens on 127.0.0.1 only, and coturn refuses to
# relay to loopback peers unless told (CHANNEL_BIND 403 Forbidden IP; ICE stays checking).
# Only for this test: production keeps loopback peers refused (deploy/coturn/turnserver.conf).
allow-loopback-peers
pidfile={dir}/turnserver.pid
userdb={dir}/turndb
log-file={dir}/turn.log
simple-log
no-stdout-log
verbose
"""


@contextlib.contextmanager
def running_coturn(
    folder: Path, secret: str = "test-turn-secret-0123456789"
) -> Iterator[TurnServer]:
    folder.mkdir(parents=True, exist_ok=True)
    start = _free_range(RELAY_PORTS + 1)
    conf = folder / "turnserver.conf"
    conf.write_text(
        CONFIG.format(
            port=start,
            min_port=start + 1,
            max_port=start + RELAY_PORTS,
            secret=secret,
            dir=folder,
        )
    )
    process = subprocess.Popen(
        [TURNSERVER, "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = TurnServer(start, secret, folder / "turn.log", process)
    try:
        deadline = time.monotonic() + 10
        while True:  # ready once it accepts TCP on its listening port
            if process.poll() is not None:
                raise RuntimeError(f"turnserver exited ({process.returncode}): {server.log_text()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", start)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("turnserver did not start within 10 s")
            time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
