"""The files in deploy/ say what the code does: the settings they name exist, the systemd units
run commands the CLI accepts, and coturn starts with deploy/coturn/turnserver.conf (ports,
log and certificate moved to the test's own) and keeps loopback peers refused."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from server.cli import build_parser
from server.settings import Settings
from tests.deploy.nginx_proxy import self_signed
from tests.turn_server import TURNSERVER, _free_range

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_every_setting_named_in_deploy_exists() -> None:
    known = {f"HYFLEX_{name.upper()}" for name in Settings.model_fields}
    named: set[str] = set()
    for path in [*DEPLOY.rglob("*.md"), *DEPLOY.rglob("*.example"), *DEPLOY.rglob("*.service")]:
        named |= set(re.findall(r"HYFLEX_[A-Z_]+[A-Z]", path.read_text()))
    nested = {n for n in named if "__" in n}
    assert named - nested - known == set()
    example = (DEPLOY / "systemd" / "hyflex.env.example").read_text()
    for line in example.splitlines():
        if line.startswith("HYFLEX_"):
            assert line.split("=", 1)[0] in known, line


def test_systemd_units_run_commands_the_cli_accepts() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} >= {"hyflex@.service", "hyflex-migrate.service"}
    for unit in units:
        for command in re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.MULTILINE):
            argv = shlex.split(command.replace("%i", "8001"))
            assert argv[0] == "/opt/hyflex/.venv/bin/hyflex", unit.name
            build_parser().parse_args(argv[1:])  # exits (SystemExit) on an unknown option
    node = (DEPLOY / "systemd" / "hyflex@.service").read_text()
    assert "--no-migrate" in node and "Requires=hyflex-migrate.service" in node


def test_compose_reference_parses_and_says_it_is_a_reference() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    assert {"postgres", "redis", "node1", "node2", "nginx", "coturn"} <= set(compose["services"])
    assert "REFERENCE only" in text


@pytest.mark.skipif(not Path(TURNSERVER).exists(), reason="coturn's turnserver is not installed")
def test_coturn_starts_with_the_deploy_config(tmp_path: Path) -> None:
    text = (DEPLOY / "coturn" / "turnserver.conf").read_text()
    assert "use-auth-secret" in text
    assert not re.search(r"^allow-loopback-peers", text, re.MULTILINE)
    start = _free_range(12)
    cert, key = self_signed(tmp_path)
    moved = {
        "listening-port=3478": f"listening-port={start}\nlistening-ip=127.0.0.1",
        "tls-listening-port=5349": f"tls-listening-port={start + 1}",
        "min-port=49160": f"min-port={start + 2}",
        "max-port=49999": f"max-port={start + 11}",
        "cert=/etc/letsencrypt/live/turn.example.org/fullchain.pem": f"cert={cert}",
        "pkey=/etc/letsencrypt/live/turn.example.org/privkey.pem": f"pkey={key}",
        "log-file=/var/log/turnserver/turnserver.log": f"log-file={tmp_path}/turn.log\n"
        f"pidfile={tmp_path}/turn.pid\nuserdb={tmp_path}/turndb",
    }
    for old, new in moved.items():
        assert old in text, f"deploy/coturn/turnserver.conf no longer has {old!r}"
        text = text.replace(old, new)
    conf = tmp_path / "turnserver.conf"
    conf.write_text(text)
    process = subprocess.Popen(
        [TURNSERVER, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        listening = False
        while not listening and time.monotonic() < deadline and process.poll() is None:
            with socket.socket() as tcp, socket.socket() as tls:
                listening = (
                    tcp.connect_ex(("127.0.0.1", start)) == 0
                    and tls.connect_ex(("127.0.0.1", start + 1)) == 0
                )
            time.sleep(0.05)
        log = (tmp_path / "turn.log").read_text(errors="replace")
        assert listening, log[-2000:]
        assert "CONFIG ERROR" not in log and "CONFIGURATION ALERT" not in log, log[-2000:]
    finally:
        process.terminate()
        process.wait(10)
