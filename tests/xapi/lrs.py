"""A real Learning Record Store for the tests: ralph-malph 5.1.0 in its own environment
(``.venv-lrs``, made by deploy/test.sh), started and stopped as a process on a loopback port,
its statements kept in a folder across restarts."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(os.environ.get("HYFLEX_TEST_RALPH_PYTHON", ROOT / ".venv-lrs" / "bin" / "python"))
SCRIPT = Path(__file__).with_name("ralph_server.py")
USER, PASSWORD = "hyflex", "lrs-test-password"
HEADERS = {"X-Experience-API-Version": "1.0.3"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lrs:
    def __init__(self, folder: Path) -> None:
        if not PYTHON.is_file():
            raise RuntimeError(f"ralph is not installed at {PYTHON}: run deploy/test.sh")
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "RALPH_APP_DIR": str(folder / "app"),
            "RALPH_AUTH_FILE": str(folder / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(folder / "statements"),
        }
        (folder / "statements").mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(PYTHON),
                "-m",
                "ralph",
                "auth",
                "-u",
                USER,
                "-p",
                PASSWORD,
                "-s",
                "all",
                "-M",
                f"mailto:{USER}@example.org",
                "-w",
            ],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(PYTHON), str(SCRIPT), str(self.port)], env=self.env, cwd=self.folder
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ralph exited with {self.proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=1).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling a starting process: no event to wait on
        raise RuntimeError("ralph did not start within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None

    def statements(self) -> list[dict[str, Any]]:
        """Every statement the LRS holds, following its ``more`` links (bounded)."""
        out: list[dict[str, Any]] = []
        url: str | None = f"{self.url}/statements"
        params: dict[str, Any] | None = {"limit": 500}
        for _ in range(100):
            if url is None:
                return out
            resp = httpx.get(url, params=params, auth=(USER, PASSWORD), headers=HEADERS, timeout=20)
            resp.raise_for_status()
            body: dict[str, Any] = resp.json()
            out.extend(body["statements"])
            more = body.get("more")
            url = f"http://127.0.0.1:{self.port}{more}" if more else None
            params = None
        raise AssertionError("more than 100 pages of statements")

    def statement(self, statement_id: str) -> dict[str, Any]:
        resp = httpx.get(
            f"{self.url}/statements",
            params={"statementId": statement_id},
            auth=(USER, PASSWORD),
            headers=HEADERS,
            timeout=20,
        )
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body
