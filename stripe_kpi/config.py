"""One ``Settings`` object, read from the environment and ``.env``.

Every setting is listed with a comment in ``.env.example``. A wrong value becomes one
``ConfigurationError`` line that names the setting (``load_settings``), never a pydantic traceback.
"""

from __future__ import annotations

import re
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from stripe_kpi.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///stripe_kpi.db"

#: Stripe's secret (sk_) and restricted (rk_) keys, test or live. Publishable keys (pk_) cannot
#: read subscriptions, so they are refused here rather than with a 401 later.
API_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$")

#: ISO 4217 codes Stripe settles in, lower case. Kept as a set, not looked up, so that a typo
#: in STRIPE_KPI_CURRENCY is caught before a sync runs.
KNOWN_CURRENCIES = frozenset(
    """aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn
    bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf
    gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr
    lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen
    pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd
    top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw""".split()
)

_FIELD_TO_ENV = {
    "stripe_api_key": "STRIPE_API_KEY",
    "stripe_api_base": "STRIPE_API_BASE",
    "database_url": "DATABASE_URL",
    "currency": "STRIPE_KPI_CURRENCY",
    "timezone": "STRIPE_KPI_TIMEZONE",
    "rate_limit": "STRIPE_KPI_RATE_LIMIT",
    "rate_limit_per_endpoint": "STRIPE_KPI_RATE_LIMIT_PER_ENDPOINT",
    "sync_concurrency": "STRIPE_KPI_SYNC_CONCURRENCY",
    "smtp_host": "SMTP_HOST",
    "smtp_port": "SMTP_PORT",
    "smtp_username": "SMTP_USERNAME",
    "smtp_password": "SMTP_PASSWORD",
    "smtp_security": "SMTP_SECURITY",
    "email_from": "EMAIL_FROM",
    "email_to": "EMAIL_TO",
    "sync_interval_minutes": "STRIPE_KPI_SYNC_INTERVAL_MINUTES",
    "report_time": "STRIPE_KPI_REPORT_TIME",
    "log_format": "STRIPE_KPI_LOG_FORMAT",
    "dashboard_path": "STRIPE_KPI_DASHBOARD_PATH",
    "dashboard_token": "STRIPE_KPI_DASHBOARD_TOKEN",
    "weekly": "STRIPE_KPI_WEEKLY",
}


class Settings(BaseSettings):
    """Field names map to environment variables through ``validation_alias``; see .env.example."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `SMTP_PORT=` in a copied .env.example means "default"
        extra="ignore",
        populate_by_name=True,
    )

    stripe_api_key: SecretStr | None = Field(default=None, validation_alias="STRIPE_API_KEY")
    stripe_api_base: str | None = Field(default=None, validation_alias="STRIPE_API_BASE")
    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    currency: str = Field(default="usd", validation_alias="STRIPE_KPI_CURRENCY")
    timezone: str = Field(default="UTC", validation_alias="STRIPE_KPI_TIMEZONE")

    rate_limit: float | None = Field(default=None, gt=0, validation_alias="STRIPE_KPI_RATE_LIMIT")
    rate_limit_per_endpoint: float | None = Field(
        default=None, gt=0, validation_alias="STRIPE_KPI_RATE_LIMIT_PER_ENDPOINT"
    )
    sync_concurrency: int = Field(
        default=16, ge=1, le=256, validation_alias="STRIPE_KPI_SYNC_CONCURRENCY"
    )

    smtp_host: str | None = Field(default=None, validation_alias="SMTP_HOST")
    smtp_port: int | None = Field(default=None, ge=1, le=65535, validation_alias="SMTP_PORT")
    smtp_username: str | None = Field(default=None, validation_alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(default=None, validation_alias="SMTP_PASSWORD")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", validation_alias="SMTP_SECURITY"
    )
    email_from: str | None = Field(default=None, validation_alias="EMAIL_FROM")
    email_to: str | None = Field(default=None, validation_alias="EMAIL_TO")

    sync_interval_minutes: int = Field(
        default=60, ge=1, le=24 * 60, validation_alias="STRIPE_KPI_SYNC_INTERVAL_MINUTES"
    )
    report_time: time = Field(default=time(7, 0), validation_alias="STRIPE_KPI_REPORT_TIME")
    log_format: Literal["auto", "console", "json"] = Field(
        default="auto", validation_alias="STRIPE_KPI_LOG_FORMAT"
    )
    #: The dashboard file the worker rewrites after each sync that changed something.
    dashboard_path: Path | None = Field(default=None, validation_alias="STRIPE_KPI_DASHBOARD_PATH")
    #: What `stripe-kpi serve` asks of every request when it listens beyond 127.0.0.1.
    dashboard_token: SecretStr | None = Field(
        default=None, validation_alias="STRIPE_KPI_DASHBOARD_TOKEN"
    )
    #: ``monday``: the report sent on Mondays (Sunday's) also sums up the week (report.weekly).
    weekly: Literal["off", "monday"] = Field(default="off", validation_alias="STRIPE_KPI_WEEKLY")

    @field_validator("stripe_api_key", mode="before")
    @classmethod
    def _key_shape(cls, value: object) -> object:
        """Only tidied here, checked in :meth:`api_key_value`: the commands that read the
        database alone (``metrics``, ``movements``, ``report``, ``spend``…) never call Stripe, so
        a malformed key in the environment must not stop them; ``sync``, ``worker`` and
        ``doctor`` ask for the key and get the one-line error there."""
        if value in (None, ""):
            return None
        return str(value.get_secret_value() if isinstance(value, SecretStr) else value).strip()

    @field_validator("dashboard_token", mode="before")
    @classmethod
    def _dashboard_token(cls, value: object) -> object:
        if value in (None, ""):
            return None
        text = str(value.get_secret_value() if isinstance(value, SecretStr) else value).strip()
        if not re.match(r"^[A-Za-z0-9._~-]{16,}$", text):
            # Anyone who can reach the port may guess: ask for something a guess will not find,
            # in characters a header, a query and a cookie carry as they are.
            raise ValueError("must be at least 16 characters among A-Z a-z 0-9 . _ ~ -")
        return text

    @field_validator("weekly", mode="before")
    @classmethod
    def _weekly(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("stripe_api_base", mode="before")
    @classmethod
    def _api_base(cls, value: object) -> object:
        if value in (None, ""):
            return None
        text = str(value).strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+(:\d+)?$", text):
            raise ValueError("must be a base address such as https://api.stripe.com")
        return text

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "is not a database URL (e.g. sqlite:///stripe_kpi.db or "
                "postgresql+psycopg://user@host/db)"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if url.get_backend_name() == "postgresql" and url.drivername not in (
            "postgresql",
            "postgresql+psycopg",
        ):
            raise ValueError("must use the psycopg driver: postgresql+psycopg://…")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().lower()
        if code not in KNOWN_CURRENCIES:
            raise ValueError("is not an ISO 4217 currency code Stripe supports (e.g. usd, eur)")
        return code

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)"
            ) from None
        return value.strip()

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def api_key_value(self) -> str:
        """The key in clear, for the places that call Stripe (the client, ``doctor``, the
        worker's start), checked for its shape first: a missing or malformed key is one
        ``ConfigurationError`` line that never echoes it."""
        if self.stripe_api_key is None:
            raise ConfigurationError(
                "STRIPE_API_KEY is not set: create a restricted read-only key in the Stripe "
                "dashboard (Developers → API keys) and put it in the environment or .env"
            )
        key = self.stripe_api_key.get_secret_value()
        if not API_KEY_PATTERN.match(key):
            # Never echo the value: a malformed key may still be most of a real one.
            raise ConfigurationError(
                "STRIPE_API_KEY is not a Stripe secret or restricted key (expected sk_test_…, "
                "sk_live_…, rk_test_… or rk_live_…)"
            )
        return key


def load_settings(**overrides: object) -> Settings:
    """Read the settings; turn a validation failure into one line that names the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        name = _FIELD_TO_ENV.get(field, field)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{name} {message}") from None
