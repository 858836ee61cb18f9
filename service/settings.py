"""Settings of the running service, read from the environment (prefix ``WALKTALK_``).

Nothing is read at import time: ``Settings()`` is built by the CLI or the caller of
``create_app`` and passed down, so tests can build as many differently-configured apps as
they need.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Values people copy from examples; a keyed hash with one of these protects nothing.
_REFUSED_SECRETS = {"changeme", "change-me", "secret", "password", "walktalk", "dev", "test"}


def default_home() -> Path:
    """Where the embedded PostGIS cluster and the generated secret live by default.

    As root the cluster must run as the ``postgres`` system user, who cannot reach ``/root``,
    so root gets a system folder; everyone else gets the XDG data folder.
    """
    if os.geteuid() == 0:
        return Path("/var/lib/walktalk")
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "walktalk"


class Settings(BaseSettings):
    """Configuration of one service instance.

    ``database_url`` empty means: use the embedded cluster under ``home``.
    """

    model_config = SettingsConfigDict(env_prefix="WALKTALK_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="libpq or SQLAlchemy URL of an existing PostGIS server; empty: embedded",
    )
    read_database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_READ_URL",
        description="URL of a read replica (e.g. a streaming standby of DATABASE_URL) that "
        "serves the map and aggregate reads; empty: everything reads the primary",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="key for hashing tokens and sessions; empty: generated once under home",
    )
    tiles: str = Field(
        default="local",
        description=(
            'base map: "local" (the service\'s own vector tiles from `walktalk osm load`, '
            'offline), "osm" (online raster), "none", or "URL-template|attribution" (raster)'
        ),
    )
    assets_dir: Path | None = Field(
        default=None, description="folder of npm-installed map assets; empty: maps/vendor"
    )
    secure_cookies: bool = Field(
        default=False, description="mark session cookies Secure (set when served over HTTPS)"
    )
    session_hours: int = Field(default=12, ge=1, le=24 * 7)
    audit_page_size: int = Field(default=200, ge=1, le=5000)
    retention_months: int = Field(
        default=24,
        ge=1,
        le=120,
        description="months buddies' contact details and full routes are kept",
    )
    safeguarding_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 14,
        description="hours an officer has to give the reference of a disclosure's report",
    )
    safeguarding_due_soon_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 14,
        description="a disclosure whose reference is due within this many hours is shown on "
        "every supervisor page and sent as an email reminder",
    )
    smtp_host: str | None = Field(
        default=None, description="mail server for safeguarding reminders; empty: no email"
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str | None = Field(default=None, description="the reminders' From address")
    smtp_to: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="the supervisors' shared mailbox(es), comma-separated",
    )
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="upgrade with STARTTLS first")
    public_url: str = Field(
        default="http://localhost:8000",
        description="the address people open the service at; links in reminder emails start so",
    )
    survey_link_days: int = Field(
        default=7,
        ge=1,
        le=60,
        description="days a buddy's one-time survey link works before it expires",
    )
    disclosure_k: int = Field(
        default=10,
        ge=1,
        description="aggregates for partners, planners and the public suppress units with "
        "fewer reports than this",
    )
    disclosure_rounding: int = Field(
        default=5, ge=1, description="counts shown to those roles are rounded to a multiple"
    )
    evidence_weight_total: float = Field(
        default=1.0, ge=0, le=100, description="a request's score: weight of each report near it"
    )
    evidence_weight_lighting: float = Field(
        default=2.0, ge=0, le=100, description="a request's score: weight of each about lighting"
    )
    evidence_weight_dark: float = Field(
        default=1.0, ge=0, le=100, description="a request's score: weight of each in the dark"
    )
    evidence_weight_months: float = Field(
        default=1.0, ge=0, le=100, description="a request's score: weight of each distinct month"
    )
    route_weight_unlit: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description="a better-lit route: extra cost of a way not known to be lit, per metre "
        "(1 = twice as long)",
    )
    route_weight_reports: float = Field(
        default=0.25,
        ge=0,
        le=100,
        description="a better-lit route: extra cost per published report within 30 m, per "
        "100 m of way",
    )
    report_rate_limit: int = Field(
        default=10, ge=1, description="public reports one client may send a minute"
    )
    report_body_limit: int = Field(
        default=16_384, ge=1024, description="largest POST /reports body, in bytes"
    )

    # With the overflow, as many connections as the worker threads (anyio's 40) that hold one
    # while a page renders: no request then waits for a connection behind a slow map page.
    db_pool_size: int = Field(
        default=30, ge=1, le=200, description="database connections the service keeps open"
    )
    db_max_overflow: int = Field(
        default=10, ge=0, le=200, description="extra connections opened under load"
    )
    db_pool_timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="seconds a request waits for a free connection before a 503 to retry",
    )
    page_cache_seconds: float = Field(
        default=300,
        ge=0,
        le=86_400,
        description="seconds a drawn map page is kept for the same address and caller (0: "
        "never); a write through the service forgets them all at once",
    )
    page_cache_mb: int = Field(
        default=32, ge=1, le=4096, description="memory the kept map pages may take, in MB"
    )
    json_body_limit: int = Field(
        default=2_000_000,
        ge=16_384,
        description="largest JSON or form body any route reads, in bytes (uploads excepted)",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses of reverse proxies whose X-Forwarded-For is believed, "
        "comma-separated; empty: none, the connection's own address is the client",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("smtp_to", mode="before")
    @classmethod
    def _split_mailboxes(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def email_on(self) -> bool:
        """Reminders are emailed only when a server, a sender and a mailbox are all set."""
        return bool(self.smtp_host and self.smtp_from and self.smtp_to)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(
                    f"WALKTALK_TRUSTED_PROXIES: {address!r} is not an IP address; give the "
                    "proxies' addresses separated by commas, e.g. 10.0.0.5,10.0.0.6"
                ) from None
        return value

    @field_validator("secret_key")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if raw.lower() in _REFUSED_SECRETS or len(raw) < 32:
            raise ValueError(
                "WALKTALK_SECRET_KEY is too weak: use at least 32 random characters, e.g. "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`, "
                "or leave it unset to have one generated under WALKTALK_HOME"
            )
        return value

    def resolved_secret_key(self) -> bytes:
        """The token-hashing key: the configured one, else one generated once under ``home``.

        The generated key is kept in a 0600 file so tokens survive restarts.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.home / "secret.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()
