"""Password sign-in is throttled per client address and per account: 429 with Retry-After,
without letting one address lock a teacher out from theirs."""

from __future__ import annotations

from typing import Any

import httpx

from server.demo import DEMO_PASSWORD
from tests.api.world import build_world

TEACHER = "teacher@demo.hyflex"


def _client(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _login(client: httpx.AsyncClient, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": TEACHER, "password": password})


async def test_wrong_passwords_are_throttled_then_429_with_retry_after(
    app_and_client: Any,
) -> None:
    app, client = app_and_client
    await build_world(app, client)
    async with _client(app, "203.0.113.7") as attacker:
        statuses = [(await _login(attacker, f"guess-{i}")).status_code for i in range(30)]
        assert statuses[:6] == [401] * 6
        assert set(statuses[6:]) == {429}
        refused = await _login(attacker, DEMO_PASSWORD)  # even the right one, for now
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
        assert "try again in" in refused.json()["error"]["message"]
    async with _client(app, "198.51.100.20") as teacher:  # the teacher, from elsewhere
        ok = await _login(teacher, DEMO_PASSWORD)
        assert ok.status_code == 200


async def test_the_account_limit_spares_addresses_that_signed_in_before(
    app_and_client: Any,
) -> None:
    app, client = app_and_client
    await build_world(app, client)
    settings = app.state.services.settings
    free = settings.signin_account_free_failures
    async with _client(app, "198.51.100.20") as teacher:
        assert (await _login(teacher, DEMO_PASSWORD)).status_code == 200
        for i in range(free + 5):  # a botnet: every guess from a new address
            async with _client(app, f"10.9.{i // 250}.{i % 250 + 1}") as bot:
                assert (await _login(bot, "nope-nope")).status_code in (401, 429)
        async with _client(app, "10.99.0.1") as new_device:
            blocked = await _login(new_device, DEMO_PASSWORD)
            assert blocked.status_code == 429
            assert int(blocked.headers["Retry-After"]) <= settings.signin_account_max_block_seconds
        assert (await _login(teacher, DEMO_PASSWORD)).status_code == 200  # known address
    async with _client(app, "10.99.0.1") as new_device:  # a success reset the account
        assert (await _login(new_device, DEMO_PASSWORD)).status_code == 200


async def test_a_success_resets_the_address(app_and_client: Any) -> None:
    app, client = app_and_client
    await build_world(app, client)
    free = app.state.services.settings.signin_address_free_failures
    async with _client(app, "198.51.100.20") as teacher:
        for _ in range(3):
            for _ in range(free - 1):
                assert (await _login(teacher, "typo-typo")).status_code == 401
            assert (await _login(teacher, DEMO_PASSWORD)).status_code == 200
