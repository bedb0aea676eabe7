"""A broken or expired link gets a plain sentence, never the JWT library's own words."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from server.auth.tokens import InvalidToken, TokenSigner
from server.domain.roles import Role

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
LIBRARY_WORDS = ("segment", "jwt", "decode", "signature", "padding", "header", "claim", "utf")


def _broken_tokens(signer: TokenSigner, now: float) -> list[str]:
    good = signer.issue(user_id=5, role=Role.STUDENT, typ="join", now=now, ttl_seconds=60)
    return [
        "garbage",  # "Not enough segments"
        "a.b.c",  # "Invalid header padding"
        good[:-4] + "AAAA",  # "Signature verification failed"
        jwt.encode({"sub": "5"}, SECRET, algorithm="HS256"),  # missing claims
        jwt.encode(
            {"sub": "x", "role": "nobody", "typ": "join", "exp": int(now) + 60},
            SECRET,
            algorithm="HS256",
        ),
        signer.issue(user_id=5, role=Role.STUDENT, typ="join", now=now - 600, ttl_seconds=60),
        signer.issue(user_id=5, role=Role.STUDENT, typ="access", now=now, ttl_seconds=60),
    ]


def test_token_errors_say_plain_words() -> None:
    signer = TokenSigner(SECRET)
    now = time.time()
    for token in _broken_tokens(signer, now):
        with pytest.raises(InvalidToken) as caught:
            signer.verify(token, typ="join", now=now)
        message = caught.value.message
        assert not any(word in message.lower() for word in LIBRARY_WORDS), (token, message)
        assert message.startswith(("the link", "this is not")), message


async def test_a_broken_join_link_is_refused_in_plain_words(app_and_client: Any) -> None:
    _, client = app_and_client
    reply = await client.post("/api/auth/join", json={"token": "garbage"})
    assert reply.status_code == 401
    assert reply.json()["error"] == {
        "code": "invalid_token",
        "message": "the link or sign-in is not valid",
    }
