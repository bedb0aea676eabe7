"""The claims an LTI 1.3 launch (``id_token``) must carry, checked after its signature.

IMS LTI 1.3 core, section 5.1, and the Security Framework, 5.1.3: ``iss`` is the registered
platform, ``aud`` holds our client id (and ``azp`` is it when there are several audiences),
``exp`` in the future and ``iat`` not in the future (with a small leeway), ``nonce`` the one
this browser's login sent, the deployment known, ``message_type``, ``version`` 1.3.0, ``roles``
and, for a resource link launch, ``resource_link.id``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from server.domain.errors import BadInput
from server.domain.roles import Role

LTI: Final = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM: Final = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM: Final = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS: Final = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
RESOURCE_LINK_REQUEST: Final = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST: Final = "LtiDeepLinkingRequest"
LEEWAY_S: Final = 60.0
MAX_CLAIM_TEXT: Final = 1000
_MEMBERSHIP: Final = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_INSTITUTION: Final = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
TEACHER_ROLES: Final = frozenset(
    {f"{_MEMBERSHIP}Instructor", f"{_MEMBERSHIP}Instructor#TeachingAssistant", "Instructor"}
    | {f"{_MEMBERSHIP}ContentDeveloper", f"{_INSTITUTION}Instructor"}
)
STUDENT_ROLES: Final = frozenset({f"{_MEMBERSHIP}Learner", "Learner", f"{_INSTITUTION}Student"})


class LaunchRefused(BadInput):
    """A launch (or a login initiation) that must not sign anyone in; the message is shown to
    the person in the browser, in plain words."""

    code = "lti_refused"


@dataclass(frozen=True, slots=True)
class Expected:
    """What the registration and this browser's login say the token must hold."""

    issuer: str
    client_id: str
    deployments: Collection[str]
    nonce: str


@dataclass(frozen=True, slots=True)
class Launch:
    """A checked launch: who, from which LMS course and link, with which services."""

    message_type: str
    sub: str
    role: Role
    deployment_id: str
    name: str = ""
    email: str = ""
    resource_link_id: str = ""
    resource_link_title: str = ""
    context_id: str = ""
    context_title: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    lineitem_url: str = ""
    lineitems_url: str = ""
    ags_scopes: tuple[str, ...] = ()
    memberships_url: str = ""
    deep_link_return_url: str = ""
    deep_link_data: str | None = None


def map_role(roles: Collection[str]) -> Role | None:
    """LMS roles to ours: Instructor (and teaching assistants, content developers) -> teacher,
    Learner -> student; a person with both is a teacher. Anything else: None (refused)."""
    if any(r in TEACHER_ROLES for r in roles):
        return Role.TEACHER
    if any(r in STUDENT_ROLES for r in roles):
        return Role.STUDENT
    return None


def _text(claims: Mapping[str, Any], key: str, what: str, *, required: bool = True) -> str:
    value = claims.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_CLAIM_TEXT or (required and not value):
        raise LaunchRefused(f"the launch has no valid {what}")
    return value


def _object(claims: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = claims.get(key, {})
    return value if isinstance(value, Mapping) else {}


def _str_of(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key, "")
    return value if isinstance(value, str) and len(value) <= MAX_CLAIM_TEXT else ""


def _check_envelope(claims: Mapping[str, Any], expect: Expected, now: float) -> None:
    if claims.get("iss") != expect.issuer:
        raise LaunchRefused("the launch comes from an LMS this tool is not registered with")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if expect.client_id not in audiences:
        raise LaunchRefused("the launch is meant for another tool (audience)")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != expect.client_id:
        raise LaunchRefused("the launch is meant for another tool (authorized party)")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise LaunchRefused("the launch has no valid time stamps")
    if exp <= now - LEEWAY_S:
        raise LaunchRefused("the launch has expired: open the link in your LMS again")
    if iat > now + LEEWAY_S:
        raise LaunchRefused("the launch is dated in the future")
    if not expect.nonce or claims.get("nonce") != expect.nonce:
        raise LaunchRefused("the launch does not belong to this sign-in (nonce)")


def check_launch(claims: Mapping[str, Any], expect: Expected, now: float) -> Launch:
    """The launch these (signature-checked) claims describe, or LaunchRefused."""
    _check_envelope(claims, expect, now)
    deployment = _text(claims, LTI + "deployment_id", "deployment id")
    if deployment not in expect.deployments:
        raise LaunchRefused("this LMS deployment is not registered with the tool")
    message_type = _text(claims, LTI + "message_type", "message type")
    if message_type not in (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST):
        raise LaunchRefused(f"the tool does not handle {message_type[:60]} messages")
    if claims.get(LTI + "version") != "1.3.0":
        raise LaunchRefused("the launch is not LTI version 1.3.0")
    roles = claims.get(LTI + "roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise LaunchRefused("the launch has no roles")
    role = map_role(roles)
    if role is None:
        raise LaunchRefused("your LMS role has no place in a lesson (instructor or learner)")
    sub = _text(claims, "sub", "user (sub)")
    if len(sub) > 255:
        raise LaunchRefused("the launch has no valid user (sub)")
    link = _object(claims, LTI + "resource_link")
    context = _object(claims, LTI + "context")
    custom = _object(claims, LTI + "custom")
    ags = _object(claims, AGS_CLAIM)
    scopes = ags.get("scope", [])
    launch = Launch(
        message_type=message_type,
        sub=sub,
        role=role,
        deployment_id=deployment,
        name=_str_of(claims, "name")[:200],
        email=_str_of(claims, "email")[:254],
        resource_link_id=_str_of(link, "id")[:255],
        resource_link_title=_str_of(link, "title")[:200],
        context_id=_str_of(context, "id")[:255],
        context_title=_str_of(context, "title")[:200],
        custom={k: v for k, v in custom.items() if isinstance(v, str)},
        lineitem_url=_str_of(ags, "lineitem"),
        lineitems_url=_str_of(ags, "lineitems"),
        ags_scopes=tuple(s for s in scopes if isinstance(s, str))
        if isinstance(scopes, list)
        else (),
        memberships_url=_str_of(_object(claims, NRPS_CLAIM), "context_memberships_url"),
    )
    if message_type == RESOURCE_LINK_REQUEST:
        if not launch.resource_link_id:
            raise LaunchRefused("the launch has no resource link id")
        return launch
    settings = _object(claims, DL_SETTINGS)
    return_url = _str_of(settings, "deep_link_return_url")
    if not return_url.startswith(("https://", "http://")):
        raise LaunchRefused("the Deep Linking request has no return address")
    if role is not Role.TEACHER:
        raise LaunchRefused("only an instructor may place lessons in the LMS course")
    data = settings.get("data")
    return replace(
        launch,
        deep_link_return_url=return_url,
        deep_link_data=data if isinstance(data, str) else None,
    )
