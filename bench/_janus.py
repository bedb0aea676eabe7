"""Janus (Debian's `janus`, a media server in C) as the relay of the media benchmarks.

The relay role of `bench/_media_roles.py` speaks a line protocol (publish, subscribe, answer,
leave); this role speaks the same to publishers and subscribers and carries it out with
Janus's VideoRoom plugin over its HTTP API: one room, each publisher a VideoRoom publisher,
each subscriber one multistream VideoRoom subscriber of the streams it asked for. Janus runs
in a process of its own (started here, with a configuration of its own in a temporary folder,
ICE on 127.0.0.1 only); its PID is reported so that the orchestrator counts Janus's CPU, not
this translator's.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._media_roles import serve_ops

ROOM = 1234
POLL_SECONDS = 3600.0  # Janus's events are read for at most this long (a run takes minutes)
PLUGINS = "/usr/lib/x86_64-linux-gnu/janus"
OTHER_PLUGINS = (
    "audiobridge duktape echotest lua nosip recordplay sip streaming textroom videocall voicemail"
)
OTHER_TRANSPORTS = "mqtt nanomsg pfunix rabbitmq websockets"
# the publishers add their transceivers in this order (bench/_media_roles.publisher_main)
LABEL_ORDER = ("microphone", "camera", "screen")
# Janus's media threads: by default one per handle (80 in a lesson); a fixed pool shared by
# all handles costs less (fewer threads waking), as our relay's one event loop does
EVENT_LOOPS = int(os.environ.get("HYFLEX_BENCH_JANUS_LOOPS", "1"))


def janus_available() -> bool:
    return shutil.which("janus") is not None and Path(PLUGINS, "plugins").is_dir()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_config(folder: Path, http_port: int, loops: int) -> None:
    plugins = ",".join(f"libjanus_{name}.so" for name in OTHER_PLUGINS.split())
    transports = ",".join(f"libjanus_{name}.so" for name in OTHER_TRANSPORTS.split())
    (folder / "janus.jcfg").write_text(
        f"""general: {{
    configs_folder = "{folder}"
    plugins_folder = "{PLUGINS}/plugins"
    transports_folder = "{PLUGINS}/transports"
    events_folder = "{PLUGINS}/events"
    loggers_folder = "{PLUGINS}/loggers"
    debug_level = 3
    session_timeout = 0
    event_loops = {loops}
}}
media: {{
    rtp_port_range = "41000-43000"
}}
nat: {{
    ice_enforce_list = "v0"  # bench/lesson_vs_janus.py: its namespace's veth
    ignore_mdns = true
}}
plugins: {{
    disable = "{plugins}"
}}
transports: {{
    disable = "{transports}"
}}
loggers: {{
    disable = "libjanus_jsonlog.so"
}}
"""
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_http = false
}}
"""
    )


class Janus:
    """One Janus session over HTTP: requests, and the plugin's events matched by transaction."""

    def __init__(self, base: str) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=30)
        self.session = 0
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for _ in range(100):  # Janus takes a moment to listen; bounded
            try:
                reply = await self._post("", {"janus": "create"})
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        else:
            raise RuntimeError("janus did not answer")
        self.session = reply["data"]["id"]
        self._poller = asyncio.create_task(self._poll())

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": body.get("transaction") or secrets.token_hex(6)}
        response = await self.http.post(f"/janus{path}", json=body)
        reply: dict[str, Any] = response.json()
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus: {reply['error']}")
        return reply

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_SECONDS
        while loop.time() < deadline:
            response = await self.http.get(f"/janus/{self.session}?maxev=20", timeout=60)
            events = response.json()
            for event in events if isinstance(events, list) else [events]:
                waiter = self._waiting.pop(event.get("transaction", ""), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(event)

    async def attach(self) -> int:
        reply = await self._post(
            f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        handle: int = reply["data"]["id"]
        return handle

    async def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request: the answer comes in the reply."""
        reply = await self._post(f"/{self.session}/{handle}", {"janus": "message", "body": body})
        data: dict[str, Any] = reply["plugindata"]["data"]
        return data

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """An asynchronous plugin request: its event (with any JSEP)."""
        transaction = secrets.token_hex(6)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = waiter
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        await self._post(f"/{self.session}/{handle}", message)
        event = await asyncio.wait_for(waiter, 30)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise RuntimeError(f"videoroom: {data['error']}")
        return event

    async def candidates_done(self, handle: int) -> None:
        """The peers put every candidate in their SDP (aiortc does not trickle): say so."""
        await self._post(
            f"/{self.session}/{handle}", {"janus": "trickle", "candidate": {"completed": True}}
        )

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        await self.http.aclose()


def relay_main() -> None:
    """The relay role, carried out by Janus; prints {"port", "pid"} (Janus's PID)."""
    with tempfile.TemporaryDirectory(prefix="janus-bench-") as tmp:
        http_port = _free_port()
        write_config(Path(tmp), http_port, EVENT_LOOPS)
        log_path = os.environ.get("HYFLEX_BENCH_JANUS_LOG")  # Janus's own log, to look at
        with open(log_path or os.devnull, "w") as log:
            process = subprocess.Popen(
                ["janus", "-F", tmp, "-C", f"{tmp}/janus.jcfg"], stdout=log, stderr=log
            )
            try:
                asyncio.run(_relay(f"http://127.0.0.1:{http_port}", process.pid))
            finally:
                process.terminate()
                process.wait(15)


async def _relay(base: str, janus_pid: int) -> None:
    janus = Janus(base)
    try:
        await janus.start()
        admin = await janus.attach()
        await janus.request(admin, {
            "request": "create", "room": ROOM, "publishers": 64, "bitrate": 0,
            "videocodec": "vp8", "audiocodec": "opus", "notify_joining": False,
        })  # fmt: skip
        await _serve(janus, janus_pid)
    finally:
        await janus.close()


async def _serve(janus: Janus, janus_pid: int) -> None:
    feeds: dict[str, tuple[int, list[str]]] = {}  # publisher -> (feed id, labels in mid order)
    handles: dict[str, int] = {}

    async def carry_out(op: str, pid: str, msg: dict[str, Any]) -> dict[str, Any]:
        if op == "publish":
            labels = sorted(msg.get("labels", []), key=LABEL_ORDER.index)
            handles[pid] = await janus.attach()
            event = await janus.message(
                handles[pid],
                {"request": "joinandconfigure", "room": ROOM, "ptype": "publisher",
                 "display": pid, "audio": True, "video": True},
                {"type": "offer", "sdp": msg["sdp"]},
            )  # fmt: skip
            await janus.candidates_done(handles[pid])
            feeds[pid] = (event["plugindata"]["data"]["id"], labels)
            return {"sdp": event["jsep"]["sdp"]}
        if op == "subscribe":
            wanted = msg.get("labels", ["camera"])
            streams = [
                {"feed": feeds[publisher][0], "mid": str(mid)}
                for publisher in msg["publishers"]
                for mid, label in enumerate(feeds[publisher][1])
                if label in wanted
            ]
            handles[pid] = await janus.attach()
            event = await janus.message(
                handles[pid],
                {"request": "join", "room": ROOM, "ptype": "subscriber", "streams": streams},
            )
            return {"sdp": event["jsep"]["sdp"]}
        if op == "answer":
            await janus.message(
                handles[pid], {"request": "start"}, {"type": "answer", "sdp": msg["sdp"]}
            )
            await janus.candidates_done(handles[pid])
            return {"ok": True}
        if op == "leave":
            await janus.message(handles.pop(pid), {"request": "leave"})
            return {"ok": True}
        if op == "health":
            return {}
        raise ValueError(f"not carried out with janus: {op!r}")

    await serve_ops(carry_out, {"pid": janus_pid})
