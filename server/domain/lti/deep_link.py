"""The claims of an LtiDeepLinkingResponse (IMS Deep Linking 2.0, section 4.2): one
``ltiResourceLink`` content item that opens a lesson, with a gradebook column (line item)."""

from __future__ import annotations

from typing import Any, Final

from server.domain.lti.claims import LTI

DL: Final = "https://purl.imsglobal.org/spec/lti-dl/claim/"
RESPONSE_TTL_S: Final = 600
LESSON_PARAM: Final = "hyflex_lesson"
CHECK_PARAM: Final = "hyflex_check"


def content_item(
    *,
    launch_url: str,
    lesson_id: int,
    check: str,
    title: str,
    catch_up: bool,
    score_maximum: int,
) -> dict[str, Any]:
    """The link the LMS stores: our launch URL, the lesson in a custom parameter with the
    tool's check of it (an LMS user who edits custom parameters cannot point a link at
    another course's lesson), and a line item for its scores (``scoreMaximum`` is the
    column's points; scores are scaled to it)."""
    kind = "catch-up" if catch_up else "live lesson"
    return {
        "type": "ltiResourceLink",
        "title": title,
        "text": f"HyFlex Live {kind}",
        "url": launch_url,
        "custom": {LESSON_PARAM: str(lesson_id), CHECK_PARAM: check},
        "lineItem": {
            "scoreMaximum": score_maximum,
            "label": title,
            "resourceId": f"lesson-{lesson_id}",
        },
        "window": {"targetName": "_blank"},
    }


def response_claims(
    *,
    client_id: str,
    issuer: str,
    deployment_id: str,
    items: list[dict[str, Any]],
    data: str | None,
    nonce: str,
    now: float,
) -> dict[str, Any]:
    """The response JWT's claims: the tool (``iss`` = our client id) to the platform (``aud``
    = its issuer)."""
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": issuer,
        "iat": int(now),
        "exp": int(now) + RESPONSE_TTL_S,
        "nonce": nonce,
        LTI + "deployment_id": deployment_id,
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        DL + "content_items": items,
    }
    if data is not None:
        claims[DL + "data"] = data
    return claims
