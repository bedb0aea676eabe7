"""The launch claim rules (server/domain/lti/claims.py), one refusal at a time."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.lti.claims import (
    AGS_CLAIM,
    DL_SETTINGS,
    LTI,
    Expected,
    LaunchRefused,
    check_launch,
    map_role,
)
from server.domain.roles import Role

NOW = 1_800_000_000.0
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
EXPECT = Expected("https://lms.example", "tool-1", {"dep-1"}, "n-1")


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": "https://lms.example",
        "aud": "tool-1",
        "sub": "u-1",
        "exp": NOW + 300,
        "iat": NOW - 5,
        "nonce": "n-1",
        "name": "Ann",
        "email": "ann@lms.example",
        LTI + "message_type": "LtiResourceLinkRequest",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": "dep-1",
        LTI + "roles": [LEARNER],
        LTI + "resource_link": {"id": "rl-1", "title": "Lesson"},
        LTI + "context": {"id": "c-1", "title": "Physics"},
        LTI + "custom": {"hyflex_lesson": "7", "n": 3},
        AGS_CLAIM: {"scope": ["s"], "lineitem": "https://lms.example/li/1"},
    }
    for key, value in changes.items():
        key = {"message_type": LTI + "message_type", "version": LTI + "version",
               "deployment_id": LTI + "deployment_id", "roles": LTI + "roles",
               "resource_link": LTI + "resource_link"}.get(key, key)  # fmt: skip
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def test_a_good_launch_reads_who_what_and_where() -> None:
    launch = check_launch(claims(), EXPECT, NOW)
    assert (launch.sub, launch.role, launch.resource_link_id) == ("u-1", Role.STUDENT, "rl-1")
    assert (launch.context_id, launch.lineitem_url) == ("c-1", "https://lms.example/li/1")
    assert launch.custom == {"hyflex_lesson": "7"}  # non-text custom values are dropped
    assert launch.ags_scopes == ("s",)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"iss": "https://other.example"}, "not registered"),
        ({"aud": "tool-2"}, "another tool"),
        ({"aud": ["tool-1", "tool-2"]}, "authorized party"),  # several audiences need azp
        ({"aud": ["tool-1", "tool-2"], "azp": "tool-2"}, "authorized party"),
        ({"exp": NOW - 61}, "expired"),
        ({"iat": NOW + 120}, "future"),
        ({"exp": None}, "time stamps"),
        ({"nonce": "n-2"}, "nonce"),
        ({"deployment_id": "dep-2"}, "deployment"),
        ({"deployment_id": None}, "deployment id"),
        ({"message_type": "LtiSubmissionReviewRequest"}, "does not handle"),
        ({"version": "1.1"}, "1.3.0"),
        ({"roles": None}, "no roles"),
        ({"roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]}, "no place"),
        ({"sub": None}, "sub"),
        ({"sub": "x" * 300}, "sub"),
        ({"resource_link": None}, "resource link id"),
        ({"message_type": "LtiDeepLinkingRequest"}, "return address"),
    ],
)
def test_each_bad_claim_is_refused_in_plain_words(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(LaunchRefused) as refused:
        check_launch(claims(**changes), EXPECT, NOW)
    assert words in refused.value.message


def test_several_audiences_with_our_azp_pass() -> None:
    launch = check_launch(claims(aud=["tool-1", "x"], azp="tool-1"), EXPECT, NOW)
    assert launch.sub == "u-1"


def test_deep_linking_is_for_instructors_and_keeps_the_platform_data() -> None:
    settings = {"deep_link_return_url": "https://lms.example/dl", "data": "opaque"}
    teacher = claims(message_type="LtiDeepLinkingRequest", roles=[INSTRUCTOR], resource_link=None)
    teacher[DL_SETTINGS] = settings
    launch = check_launch(teacher, EXPECT, NOW)
    assert launch.deep_link_return_url == settings["deep_link_return_url"]
    assert launch.deep_link_data == "opaque"
    learner = {**teacher, LTI + "roles": [LEARNER]}
    with pytest.raises(LaunchRefused, match="only an instructor"):
        check_launch(learner, EXPECT, NOW)


def test_roles_map_to_ours() -> None:
    assert map_role([INSTRUCTOR]) is Role.TEACHER
    assert map_role([LEARNER]) is Role.STUDENT
    assert map_role([LEARNER, INSTRUCTOR]) is Role.TEACHER
    assert map_role(["Learner"]) is Role.STUDENT
    assert (
        map_role(["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"])
        is Role.STUDENT
    )
    assert map_role(["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]) is None
    assert map_role([]) is None
