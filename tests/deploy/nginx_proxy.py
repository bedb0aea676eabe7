"""Debian's nginx as a local process running deploy/nginx/hyflex.conf: the file is rendered for
the test (loopback listen ports, a self-signed certificate, the test's node ports) and
everything else is kept as written."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "hyflex.conf"

MAIN = """\
# the test's main file: everything under this prefix, in the foreground
daemon off;
worker_processes 1;
pid nginx.pid;
error_log logs/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include {site};
}}
"""


@dataclass
class Proxy:
    prefix: Path
    http_port: int
    https_port: int
    certificate: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def ws_url(self, session_id: int) -> str:
        return f"wss://127.0.0.1:{self.https_port}/ws/sessions/{session_id}"

    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def render(text: str, nodes: Sequence[int], http_port: int, https_port: int, cert: Path,
           key: Path) -> str:
    """The deploy file with this test's addresses; fails if the file's shape changed."""
    servers = re.findall(r"^(\s*)server 127\.0\.0\.1:800\d (.*);$", text, re.MULTILINE)
    assert len(servers) >= 2, "deploy/nginx/hyflex.conf should list two nodes or more"
    indent, options = servers[0]
    block = "".join(f"{indent}server 127.0.0.1:{port} {options};\n" for port in nodes)
    text = re.sub(r"^\s*server 127\.0\.0\.1:800\d .*;\n", "", text, flags=re.MULTILINE)
    text = text.replace("    keepalive 32;\n", block + "    keepalive 32;\n")
    replacements = {
        "    listen [::]:80;\n": "",
        "    listen [::]:443 ssl http2;\n": "",
        "    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
        "    listen 443 ssl http2;\n": f"    listen 127.0.0.1:{https_port} ssl http2;\n",
        "/etc/letsencrypt/live/hyflex.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/hyflex.example.org/privkey.pem": str(key),
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/hyflex.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


def nginx_args(prefix: Path) -> list[str]:
    return [NGINX, "-p", f"{prefix}/", "-c", "nginx.conf", "-e", "logs/error.log"]


def check(prefix: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*nginx_args(prefix), "-t"], capture_output=True, text=True, timeout=30, check=False
    )


def prepare(prefix: Path, nodes: Sequence[int]) -> Proxy:
    for sub in ("logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
        (prefix / sub).chmod(0o777)  # workers run as nobody when the test runs as root
    cert, key = self_signed(prefix)
    http_port, https_port = free_port(), free_port()
    site = prefix / "hyflex.conf"
    site.write_text(render(CONFIG.read_text(), nodes, http_port, https_port, cert, key))
    (prefix / "nginx.conf").write_text(MAIN.format(site=site))
    return Proxy(prefix, http_port, https_port, cert)


@contextlib.contextmanager
def running_nginx(proxy: Proxy) -> Iterator[Proxy]:
    process = subprocess.Popen(
        nginx_args(proxy.prefix), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited ({process.returncode}): {proxy.error_log()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", proxy.https_port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not start within 10 s")
            time.sleep(0.05)
        yield proxy
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
