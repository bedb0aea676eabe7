"""Who a verified OpenID Connect identity may sign in as, pure: staff only (teachers and
facilitators), by e-mail in an allowed domain, an existing and active account. Admins keep their
local password (an identity provider's account never opens the admin pages). The token's
signature, issuer, audience, expiry and nonce are checked before this, by the adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.roles import Role

SSO_ROLES = frozenset({Role.TEACHER, Role.FACILITATOR})


@dataclass(frozen=True, slots=True)
class SsoVerdict:
    email: str | None
    refusal: str | None


def email_from_claims(claims: dict[str, Any], allowed_domains: frozenset[str]) -> SsoVerdict:
    """The e-mail to look up, or why the identity is refused."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        return SsoVerdict(None, "your school account did not share an e-mail address")
    if claims.get("email_verified") is False:
        return SsoVerdict(None, "your school account's e-mail address is not verified")
    email = email.strip().lower()
    domain = email.rsplit("@", 1)[1]
    if domain not in allowed_domains:
        return SsoVerdict(None, f"accounts of {domain} may not sign in here")
    return SsoVerdict(email, None)


def account_refusal(role: Role | None, active: bool) -> str | None:
    """Why the account found for the e-mail may not sign in this way (None: it may)."""
    if role is None:
        return "there is no staff account here for this e-mail: ask your administrator"
    if not active:
        return "this account is switched off: ask your administrator"
    if role == Role.ADMIN:
        return "administrators sign in with their password"
    if role not in SSO_ROLES:
        return "students join lessons with the link their teacher gives them"
    return None
