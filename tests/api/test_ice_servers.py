"""TURN credentials per participant (the TURN REST API scheme coturn checks with
``use-auth-secret``) and the settings that turn them on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import pytest
from pydantic import SecretStr

from server.services.ice import ice_servers_for, turn_credential
from server.settings import Settings
from tests.api.world import build_world


def test_credentials_follow_the_turn_rest_scheme() -> None:
    cred = turn_credential("s3cret", "u42", now=1_000_000.7, ttl_seconds=600)
    assert cred.username == "1000600:u42"
    assert cred.expires_at == 1_000_600
    expected = hmac.new(b"s3cret", b"1000600:u42", hashlib.sha1).digest()
    assert base64.b64decode(cred.credential) == expected
    with pytest.raises(ValueError):
        turn_credential("s3cret", "u:42", now=0, ttl_seconds=600)


def test_ice_servers_add_turn_only_when_configured(tmp_path: object) -> None:
    stun = {"urls": ["stun:stun.example.org"]}
    static = {"urls": ["turn:static.example.org"], "username": "u", "credential": "p"}
    plain = Settings(ice_servers=[stun, static])
    servers, _ = ice_servers_for(plain, "u1", now=100.0)
    assert servers == [stun]  # a static TURN password never goes to a page
    relay, _ = ice_servers_for(plain, "hyflex-relay", now=100.0, browser=False)
    assert relay == [stun, static]
    turn = plain.model_copy(
        update={
            "turn_urls": ["turn:turn.example.org:3478"],
            "turn_secret": SecretStr("k"),
            "turn_ttl_seconds": 300,
        }
    )
    servers, expires = ice_servers_for(turn, "u1", now=100.0)
    assert expires == 400
    assert servers[0] == stun
    assert servers[1]["urls"] == ["turn:turn.example.org:3478"]
    assert servers[1]["username"] == "400:u1"
    assert servers[1]["credential"] != "k"


def test_turn_urls_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    both = "turn:a.example:3478?transport=udp, turns:a.example:5349"
    monkeypatch.setenv("HYFLEX_TURN_URLS", both)
    assert Settings().turn_urls == ["turn:a.example:3478?transport=udp", "turns:a.example:5349"]
    monkeypatch.setenv("HYFLEX_TURN_URLS", "https://not-turn.example")
    with pytest.raises(ValueError):
        Settings()


async def test_the_route_hands_a_participant_their_own_credentials(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    settings = app.state.services.settings
    settings.turn_urls = ["turn:127.0.0.1:3478"]
    settings.turn_secret = SecretStr("route-secret")
    settings.turn_ttl_seconds = 900
    before = int(time.time())
    reply = await world.call("joined", "GET", f"/api/sessions/{world.ids['session']}/ice")
    assert reply.status_code == 200
    body = reply.json()
    turn = body["ice_servers"][-1]
    expiry, who = turn["username"].split(":")
    assert who == f"u{world.ids['student']}"
    assert before + 900 <= int(expiry) == body["expires_at"] <= int(time.time()) + 900
    assert body["refresh_after"] == body["expires_at"] - 60
    mac = hmac.new(b"route-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == mac
    assert "route-secret" not in reply.text
