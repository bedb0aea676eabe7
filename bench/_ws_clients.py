"""Load-generator process for ``bench/ws_fanout.py``: many light websocket clients.

One process holds thousands of connections. Each is a small ``asyncio.Protocol`` speaking
RFC 6455 directly (HTTP upgrade, unmasked server frames parsed in place, masked client
frames), so a delivered frame costs the load generator a few microseconds and the two cores
are left to the server. Two dialects:

- ``ours``: HyFlex protocol v1 (``hello`` first, ``welcome`` back, ``qna.ask``);
- ``sio``: Socket.IO 5 over Engine.IO 4, websocket transport only (``40`` connect,
  ``42["hand", ...]`` events, answering the server's ``2`` pings with ``3``).

Senders take turns (ours: each asks a Q&A question, one ``qna.asked`` to the whole session,
logged, no cooldown, at most 50 per student and 1,000 per lesson, far more than a run asks;
hand raises are no such broadcast, since a student's hand goes to staff only and the queue
length is coalesced; socketio: a ``hand`` event emitted to the room). A frame is a "mark" when
it is such a broadcast; its latency is
``time.time()`` at receipt minus the server time ``at`` it carries. Latencies go into a
0.1 ms histogram.

Control: one JSON command per stdin line, one JSON reply per stdout line (see ``Agent``).
Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
import sys
import time
from typing import Any, cast

import msgspec
from websockets.speedups import apply_mask

MARK_OURS = b'"type":"qna.asked"'
MARK_SIO = b'42["hand.'
HANDSHAKE_LIMIT = 16_384
_decode = msgspec.json.decode


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def client_frame(payload: bytes, opcode: int = 1) -> bytes:
    """One masked client frame (FIN set)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + mask + apply_mask(payload, mask)


class Stats:
    """What all connections of this process saw."""

    def __init__(self) -> None:
        self.frames = 0
        self.marks = 0
        self.hist: dict[int, int] = {}
        self.first_mark = 0.0
        self.last_mark = 0.0
        self.acks = 0
        self.acked_events = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.closed = 0
        self.close_codes: dict[int, int] = {}
        self.max_seq = 0

    def reset_marks(self) -> None:
        self.marks = 0
        self.hist = {}
        self.first_mark = 0.0
        self.last_mark = 0.0
        self.acks = 0
        self.acked_events = 0
        self.errors = 0
        self.error_samples = []


class Client(asyncio.Protocol):
    def __init__(self, kind: str, host: str, path: str, first: bytes | None, stats: Stats) -> None:
        self.kind = kind
        self.host = host
        self.path = path
        self.first = first
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.upgraded = False
        self.buf = bytearray()
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.fragments: list[bytes] = []
        self.counter = 0
        self.raised = False

    # --- transport callbacks ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.transport.write(request.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.closed += 1
        if not self.ready.done():
            self.ready.set_result(False)

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > HANDSHAKE_LIMIT:
                    self._fail()
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                self._fail()
                return
            self.upgraded = True
            del self.buf[: end + 4]
            if self.first is not None:
                self.send(self.first)
            if not self.buf:
                return
        else:
            self.buf += data
        self._frames()

    # --- frames ---

    def _frames(self) -> None:
        buf = self.buf
        size = len(buf)
        i = 0
        while size - i >= 2:
            b0 = buf[i]
            n = buf[i + 1] & 0x7F
            start = i + 2
            if n == 126:
                if size - i < 4:
                    break
                n = int.from_bytes(buf[i + 2 : i + 4], "big")
                start = i + 4
            elif n == 127:
                if size - i < 10:
                    break
                n = int.from_bytes(buf[i + 2 : i + 10], "big")
                start = i + 10
            end = start + n
            if end > size:
                break
            opcode = b0 & 0x0F
            if opcode == 1 and b0 & 0x80:
                self._message(buf, start, end)
            elif opcode in (0, 1, 2):  # fragmented message (rare): reassemble
                self.fragments.append(bytes(buf[start:end]))
                if b0 & 0x80:
                    whole = bytearray(b"".join(self.fragments))
                    self.fragments = []
                    self._message(whole, 0, len(whole))
            elif opcode == 9:
                self.send(bytes(buf[start:end]), 10)
            elif opcode == 8:
                code = int.from_bytes(buf[start : start + 2], "big") if n >= 2 else 1005
                self.stats.close_codes[code] = self.stats.close_codes.get(code, 0) + 1
                self._fail()
                return
            i = end
        if i:
            del buf[:i]

    def _message(self, buf: bytearray, start: int, end: int) -> None:
        stats = self.stats
        stats.frames += 1
        if self.kind == "ours":
            if buf.find(MARK_OURS, start, min(end, start + 40)) >= 0:
                frame = _decode(bytes(buf[start:end]))
                self._mark(frame["at"])
                seq = frame.get("seq") or 0
                if seq > stats.max_seq:
                    stats.max_seq = seq
            elif not self.ready.done():
                if buf.find(b'"welcome"', start, end) >= 0:
                    self.ready.set_result(True)
                elif buf.find(b'"error"', start, end) >= 0:
                    self._fail()
            elif buf.find(b'"type":"ack"', start, min(end, start + 20)) >= 0:
                stats.acks += 1
                if not buf.endswith(b'"seq":null}', 0, end):
                    stats.acked_events += 1
            elif buf.find(b'"type":"error"', start, min(end, start + 20)) >= 0:
                stats.errors += 1
                if len(stats.error_samples) < 5:
                    stats.error_samples.append(bytes(buf[start:end]).decode()[:200])
            return
        # Engine.IO 4 / Socket.IO 5
        if buf.startswith(MARK_SIO, start):
            event = _decode(bytes(buf[start + 2 : end]))
            self._mark(event[1]["at"])
        elif buf[start] == 0x32 and end - start == 1:  # "2": ping
            self.send(b"3")
        elif buf.startswith(b"0{", start):  # engine.io open: join the default namespace
            self.send(b"40")
        elif buf.startswith(b"40", start) and not self.ready.done():
            self.ready.set_result(True)
        elif buf.startswith(b"44", start):
            self._fail()

    def _mark(self, at: float) -> None:
        now = time.time()
        stats = self.stats
        stats.marks += 1
        if not stats.first_mark:
            stats.first_mark = now
        stats.last_mark = now
        bucket = int((now - at) * 10_000)  # 0.1 ms
        stats.hist[bucket] = stats.hist.get(bucket, 0) + 1

    def send(self, payload: bytes, opcode: int = 1) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(payload, opcode))

    def send_broadcast(self) -> None:
        """One broadcast to everyone: ours a new Q&A question, socketio a hand raise/lower."""
        self.counter += 1
        self.raised = not self.raised
        if self.kind == "ours":
            msg = b'{"type":"qna.ask","id":"q%d","data":{"text":"Question %d"}}' % (
                self.counter, self.counter,
            )  # fmt: skip
        else:
            msg = b'42["hand",{"raise":%s}]' % (b"true" if self.raised else b"false")
        self.send(msg)

    def _fail(self) -> None:
        if not self.ready.done():
            self.ready.set_result(False)
        if self.transport is not None:
            self.transport.close()


class Agent:
    """Commands (stdin JSON lines) -> replies (stdout JSON lines)."""

    def __init__(self) -> None:
        self.stats = {"ours": Stats(), "sio": Stats()}
        self.clients: dict[str, list[Client]] = {"ours": [], "sio": []}

    async def connect(self, cmd: dict[str, Any]) -> dict[str, Any]:
        kind: str = cmd["kind"]
        host, port = cmd["host"], int(cmd["port"])
        firsts: list[bytes | None] = []
        if kind == "ours":
            firsts = [
                json.dumps({"type": "hello", "data": {"token": t, "last_seq": None}}).encode()
                for t in cmd["tokens"]
            ]
        else:
            firsts = [None] * int(cmd["count"])
        path = cmd["path"]
        gate = asyncio.Semaphore(int(cmd.get("concurrency", 64)))
        loop = asyncio.get_running_loop()
        timeout = float(cmd.get("timeout", 60))
        stats = self.stats[kind]

        async def one(first: bytes | None) -> Client | None:
            async with gate:
                try:
                    _, proto = await asyncio.wait_for(
                        loop.create_connection(
                            lambda: Client(kind, f"{host}:{port}", path, first, stats), host, port
                        ),
                        timeout,
                    )
                    ok = await asyncio.wait_for(proto.ready, timeout)
                except (OSError, TimeoutError):
                    return None
                return proto if ok else None

        started = time.perf_counter()
        results = await asyncio.gather(*(one(f) for f in firsts))
        made = [c for c in results if c is not None]
        self.clients[kind].extend(made)
        return {
            "connected": len(made),
            "failed": len(results) - len(made),
            "seconds": time.perf_counter() - started,
            "total": len(self.clients[kind]),
        }

    async def send(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """``count`` questions (socketio: hand raises/lowers) from the first ``senders``
        connections, round robin, one every ``spacing`` seconds (0: all at once)."""
        clients = self.clients[cmd["kind"]][: int(cmd["senders"])]
        count, spacing = int(cmd["count"]), float(cmd["spacing"])
        offset = int(cmd.get("offset", 0))
        if not clients:
            return {"sent": 0}
        started = time.time()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for k in range(count):
            clients[(offset + k) % len(clients)].send_broadcast()
            if spacing > 0:
                delay = t0 + (k + 1) * spacing - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing of the offered load
        return {"sent": count, "started": started, "ended": time.time()}

    def report(self, kind: str) -> dict[str, Any]:
        s = self.stats[kind]
        return {
            "frames": s.frames,
            "marks": s.marks,
            "hist": s.hist,
            "first_mark": s.first_mark,
            "last_mark": s.last_mark,
            "acks": s.acks,
            "acked_events": s.acked_events,
            "errors": s.errors,
            "error_samples": s.error_samples,
            "closed": s.closed,
            "close_codes": s.close_codes,
            "max_seq": s.max_seq,
            "open": sum(1 for c in self.clients[kind] if not c.ready.done() or c.ready.result()),
        }

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd["cmd"]
        if op == "connect":
            return await self.connect(cmd)
        if op == "send":
            return await self.send(cmd)
        if op == "stats":
            reply = self.report(cmd["kind"])
            if not cmd.get("hist"):
                del reply["hist"]
            return reply
        if op == "reset":
            self.stats[cmd["kind"]].reset_marks()
            return {"ok": True}
        if op == "close":
            for client in self.clients[cmd["kind"]]:
                if client.transport is not None:
                    client.transport.close()
            self.clients[cmd["kind"]] = []
            return {"ok": True}
        raise ValueError(f"unknown command {op!r}")


async def main() -> None:
    raise_fd_limit()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    agent = Agent()
    out = sys.stdout
    for _ in range(100_000):  # bounded: far more commands than any run sends
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        try:
            reply = await agent.handle(cmd)
        except Exception as exc:  # reported to the driver, which fails the run
            reply = {"error": repr(exc)}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    for kind in ("ours", "sio"):
        with contextlib.suppress(Exception):
            await agent.handle({"cmd": "close", "kind": kind})


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
