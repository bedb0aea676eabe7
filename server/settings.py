"""Service settings, read from environment variables prefixed ``HYFLEX_``."""

from __future__ import annotations

import json
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server.domain.engagement.settings import EngagementSettings
from server.domain.reports.behind import BehindSettings
from server.domain.signin_throttle import ThrottlePolicy

DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev"})


def _project_dir() -> Path:
    """The source checkout the server runs from (where ``deploy/run-demo.sh`` is); for an
    installed package, the folder it is started from."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


PROJECT_DIR = _project_dir()


class InsecureSettings(RuntimeError):
    """Raised at start-up when production mode lacks a real secret key."""


class Settings(BaseSettings):
    """Every setting has a default that works on one machine with nothing installed."""

    model_config = SettingsConfigDict(
        env_prefix="HYFLEX_",
        env_file=PROJECT_DIR / ".env",
        extra="ignore",
        env_nested_delimiter="__",
    )

    env: Literal["development", "production"] = "development"
    # Relative to the project folder, whatever the current folder: ``hyflex serve`` and
    # ``hyflex demo`` run from anywhere use the same database, secret and recordings.
    data_dir: Path = PROJECT_DIR / "data"
    database_url: str = ""
    redis_url: str | None = None
    redis_prefix: str = Field(default="hyflex", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    cluster_ttl_seconds: float = Field(default=15.0, ge=0.5, le=300)
    secret_key: str = ""
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    access_token_minutes: int = Field(default=12 * 60, ge=1, le=7 * 24 * 60)
    join_link_hours: int = Field(default=24, ge=1, le=24 * 30)
    # How long after a lesson's end its join links keep opening the catch-up player
    # (server/services/join_links.py); 0 = not after the lesson.
    catchup_days: int = Field(default=30, ge=0, le=3660)
    ice_servers: list[dict[str, Any]] = Field(default_factory=list)
    # TURN for browsers and the relay (server/services/ice.py; deploy/README.md): coturn with
    # use-auth-secret, short-lived credentials handed out per participant (TURN REST API).
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_secret: SecretStr = SecretStr("")
    turn_ttl_seconds: int = Field(default=6 * 3600, ge=60, le=7 * 24 * 3600)
    # /metrics: with a token, Bearer-protected; without, served to loopback clients only.
    metrics_token: SecretStr = SecretStr("")
    # Recording consent (server/domain/live/recording.py): the notice students see when the
    # teacher starts recording, and how many days a finished recording is kept before
    # ``hyflex purge`` deletes it (0: kept until deleted by hand).
    recording_notice: str = Field(
        default=(
            "This lesson is now being recorded (video and audio of the teacher and of anyone on "
            "stage, and the chat). The recording is kept for the course and deleted after the "
            "retention period. Ask your teacher if you have questions."
        ),
        min_length=1,
        max_length=2000,
    )
    recording_retention_days: int = Field(default=365, ge=0, le=3660)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_csv_rows: int = Field(default=20_000, ge=1)
    # Slide decks (PDF) a teacher uploads to a lesson (server/services/slides.py).
    slides_max_bytes: int = Field(default=20_000_000, ge=1024, le=1_000_000_000)
    slides_max_pages: int = Field(default=200, ge=1, le=10_000)
    ws_max_message_bytes: int = Field(default=16_384, ge=256)
    ws_max_media_message_bytes: int = Field(default=65_536, ge=256)
    ws_rate_per_second: float = Field(default=20.0, gt=0)
    ws_rate_burst: int = Field(default=40, ge=1)
    ws_send_queue: int = Field(default=256, ge=8)
    ws_heartbeat_seconds: float = Field(default=20.0, gt=0)
    ws_replay_limit: int = Field(default=10_000, ge=100)
    ws_hello_timeout_seconds: float = Field(default=10.0, gt=0)
    # A participant whose last websocket closed leaves the session (hand down, off stage) only
    # after this long without one: a network that drops and comes back keeps their place.
    presence_grace_seconds: float = Field(default=10.0, ge=0, le=300)
    staff_update_hz: float = Field(default=5.0, gt=0, le=50)
    # Sign-in throttling (server/domain/signin_throttle.py; README "Sign-in throttling").
    signin_address_free_failures: int = Field(default=5, ge=1)
    signin_address_max_block_seconds: float = Field(default=300.0, ge=1)
    signin_account_free_failures: int = Field(default=20, ge=1)
    signin_account_max_block_seconds: float = Field(default=60.0, ge=1)
    signin_forget_after_seconds: float = Field(default=900.0, ge=1)
    # Engagement thresholds, field by field as documented in EngagementSettings (docs/privacy.md),
    # e.g. HYFLEX_ENGAGEMENT__CONFUSED_EXPIRY_S=300, HYFLEX_ENGAGEMENT__TIMELINE_RETENTION_DAYS=180,
    # HYFLEX_ENGAGEMENT__FACE_PRESENCE_ENABLED=false (the default: face presence is refused).
    engagement: EngagementSettings = Field(default_factory=EngagementSettings)
    # The course view's falling-behind rule, field by field as documented in BehindSettings
    # (docs/reports.md), e.g. HYFLEX_TRENDS__WINDOW_LESSONS=4, HYFLEX_TRENDS__MIN_CORRECT_SHARE=0.4.
    trends: BehindSettings = Field(default_factory=BehindSettings)
    # xAPI export to a Learning Record Store (docs/xapi.md): unset URL = no export.
    lrs_url: str = ""
    lrs_username: str = ""
    lrs_password: SecretStr = SecretStr("")
    lrs_batch_size: int = Field(default=200, ge=1, le=5000)
    lrs_max_attempts: int = Field(default=6, ge=1, le=100)
    lrs_retry_seconds: float = Field(default=2.0, gt=0, le=600)
    lrs_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    # Statements name students by their account on this server; e-mails only if this is true.
    lrs_send_emails: bool = False
    # LTI 1.3 tool (docs/lms.md): calls to the LMS (keys, tokens, grades, rosters), and the
    # background tries of a grade delivery (the first wait doubles after each).
    lti_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    lti_max_attempts: int = Field(default=8, ge=1, le=100)
    lti_retry_seconds: float = Field(default=5.0, gt=0, le=600)
    # Staff single sign-on with OpenID Connect (docs/roster.md "Staff single sign-on"): on
    # when the issuer, the client id and at least one allowed e-mail domain are set.
    oidc_issuer: str = Field(default="", max_length=500)
    oidc_client_id: str = Field(default="", max_length=500)
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_allowed_domains: str = Field(default="", max_length=2000)

    @field_validator("data_dir")
    @classmethod
    def _under_project(cls, value: Path) -> Path:
        return value if value.is_absolute() else PROJECT_DIR / value

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _parse_ice(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @field_validator("turn_urls", mode="before")
    @classmethod
    def _parse_turn_urls(cls, value: Any) -> Any:
        """A JSON list, or comma-separated URLs (``turn:turn.example.org:3478?transport=udp``)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("turn_urls")
    @classmethod
    def _check_turn_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("turn:", "turns:", "stun:", "stuns:")) or len(url) > 300:
                raise ValueError(f"not a TURN/STUN URL: {url[:80]!r}")
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hyflex.db').as_posix()}"

    @property
    def base_url(self) -> str:
        """Where people reach this server: ``public_url``, or http://host:port when unset."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def oidc_domains(self) -> frozenset[str]:
        """The e-mail domains whose staff may sign in with their school account."""
        return frozenset(
            d.strip().lower().lstrip("@") for d in self.oidc_allowed_domains.split(",") if d.strip()
        )

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_domains)

    @property
    def signin_policy(self) -> ThrottlePolicy:
        return ThrottlePolicy(
            address_free=self.signin_address_free_failures,
            address_max_block_s=self.signin_address_max_block_seconds,
            account_free=self.signin_account_free_failures,
            account_max_block_s=self.signin_account_max_block_seconds,
            forget_after_s=self.signin_forget_after_seconds,
        )

    @property
    def ws_frame_limit(self) -> int:
        """The largest frame the websocket server accepts at all (media SDP may be larger)."""
        return max(self.ws_max_message_bytes, self.ws_max_media_message_bytes)

    def resolve_secret(self) -> str:
        """The signing key. Development keeps a generated one in the data folder."""
        if self.secret_key and self.secret_key not in DEFAULT_SECRETS:
            if self.env == "production" and len(self.secret_key) < 32:
                raise InsecureSettings("HYFLEX_SECRET_KEY must be at least 32 characters")
            return self.secret_key
        if self.env == "production":
            raise InsecureSettings(
                "HYFLEX_SECRET_KEY is missing or a default; production refuses to start without "
                "a real secret (generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
