"""An empty install gets its first admin (and its consortium) from ``hyflex create-admin``;
that admin signs in and sets up schools through the API the web pages use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.domain.errors import Conflict
from server.services.first_admin import create_first_admin
from tests.api.test_demo_and_migrations import _cli

PASSWORD = "first-admin-2026"


async def test_first_admin_signs_in_and_adds_a_school(app_and_client: Any) -> None:
    app, client = app_and_client
    sessions = app.state.services.sessions
    done = await create_first_admin(
        sessions,
        consortium="Hill Valley",
        email="Boss@Valley.example",
        name="Bo",
        password=PASSWORD,
    )
    assert done == "created consortium 'Hill Valley'; created admin boss@valley.example"
    login = await client.post(
        "/api/auth/login", json={"email": "boss@valley.example", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    school = await client.post(
        "/api/schools",
        headers=headers,
        json={"name": "Hill High", "code": "hill-high", "timezone": "Europe/Dublin"},
    )
    assert school.status_code == 201, school.text
    second = await create_first_admin(
        sessions, consortium="Other", email="two@valley.example", name="Di", password=PASSWORD
    )
    assert second.startswith("consortium 'Hill Valley' already there")
    with pytest.raises(Conflict):
        await create_first_admin(
            sessions, consortium="X", email="boss@valley.example", name="Bo", password=PASSWORD
        )


def test_create_admin_command(tmp_path: Path) -> None:
    env = {
        "HYFLEX_DATA_DIR": str(tmp_path / "data"),
        "PATH": "/usr/bin:/bin",
        "HYFLEX_ADMIN_PASSWORD": PASSWORD,
    }
    args = ("create-admin", "--email", "a@school.example", "--name", "Ann")
    out = _cli(env, *args).stdout
    assert "created consortium 'Consortium'; created admin a@school.example" in out
    assert "open Administration" in out
    again = _cli(env, *args, code=2)
    assert "a user with e-mail a@school.example exists" in again.stderr
    short = _cli({**env, "HYFLEX_ADMIN_PASSWORD": "short"}, "create-admin", "--email",
                 "b@school.example", "--name", "B", code=2)  # fmt: skip
    assert "password" in short.stderr and "Traceback" not in short.stderr
