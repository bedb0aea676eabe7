"""Server process for ``bench/ws_fanout.py``: one uvicorn on a pre-bound loopback port.

``python bench/_ws_server.py ours``: ``server.app.create_app`` with its settings from the
``HYFLEX_`` environment (the driver prepares the SQLite database and the secret).

``python bench/_ws_server.py socketio``: the baseline (``socketio_baseline.build_app``).

Both print ``PORT <n>`` once listening and exit when stdin closes (or on SIGTERM). Same
uvicorn, same event loop (uvloop when installed), same websocket implementation.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import sys
from pathlib import Path
from typing import Any, Literal

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _app(kind: str) -> tuple[Any, Literal["on", "off"]]:
    if kind == "ours":
        from server.app import create_app
        from server.settings import Settings

        return create_app(Settings()), "on"
    from bench.socketio_baseline import build_app

    return build_app(), "off"


async def _watch_stdin(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()  # EOF: the driver is done (or gone)
    server.should_exit = True


async def main(kind: str) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    app, lifespan = _app(kind)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    config = uvicorn.Config(
        app, log_level="warning", lifespan=lifespan, backlog=4096, ws_max_size=2**20
    )
    server = uvicorn.Server(config)
    watcher = asyncio.create_task(_watch_stdin(server))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])
    watcher.cancel()


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "ours"
    if which not in ("ours", "socketio"):
        raise SystemExit("usage: _ws_server.py ours|socketio")
    try:
        import uvloop

        uvloop.run(main(which))
    except ImportError:
        asyncio.run(main(which))
