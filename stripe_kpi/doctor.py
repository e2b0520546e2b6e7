"""`stripe-kpi doctor`: one line per thing that must work, saying what to fix.

Each check is a small function returning ``Check``s, so a founder sees every problem at once
instead of fixing them one traceback at a time.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from stripe_kpi.config import Settings, load_settings
from stripe_kpi.errors import StripeKpiError, StripePermissionDenied

if TYPE_CHECKING:
    from sqlalchemy import Engine

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def check_database(settings: Settings) -> list[Check]:
    from sqlalchemy import func, select
    from sqlmodel import Session

    from stripe_kpi.store.engine import describe, open_database
    from stripe_kpi.store.models import Customer, Invoice, Subscription, SyncRun

    where = describe(settings.database_url)
    try:
        engine = open_database(settings.database_url)
    except StripeKpiError as exc:
        return [Check("database", "fail", exc.message)]
    try:
        with Session(engine) as session:
            counts = {
                name: session.exec(select(func.count()).select_from(model)).one()[0]
                for name, model in (
                    ("customers", Customer),
                    ("subscriptions", Subscription),
                    ("invoices", Invoice),
                )
            }
            last = session.exec(
                select(SyncRun).where(SyncRun.status == "ok").order_by(SyncRun.id.desc()).limit(1)
            ).first()
    finally:
        engine.dispose()
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    checks = [Check("database", "ok", f"{where} ({summary})"), *_file_permissions(engine)]
    if last is None:
        checks.append(Check("sync", "warn", "no successful sync yet: run `stripe-kpi sync`"))
    return checks


def _file_permissions(engine: Engine) -> list[Check]:
    """A SQLite file others can read hands them every customer's name and email."""
    from stripe_kpi.private_files import exposed

    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return []
    readable = exposed(Path(database).expanduser())
    if not readable:
        return []
    names = ", ".join(str(path) for path in readable)
    return [
        Check(
            "file permissions",
            "warn",
            f"others can read {names} (customer names and emails): run chmod 600 on "
            f"{'them' if len(readable) > 1 else 'it'}",
        )
    ]


def check_stripe(settings: Settings) -> list[Check]:
    if settings.stripe_api_key is None:
        return [
            Check(
                "stripe key",
                "warn",
                "STRIPE_API_KEY is not set: `stripe-kpi demo` works without one; for your "
                "account create a restricted read-only key",
            )
        ]
    from stripe_kpi.stripe_api import client_from_settings, key_kind, key_mode

    try:
        key = settings.api_key_value()  # its shape is checked here, not when settings load
        mode, kind = key_mode(key), key_kind(key)
    except StripeKpiError as exc:
        return [Check("stripe key", "fail", exc.message)]
    checks = [Check("stripe key", "ok", f"{kind} key, {mode} mode")]
    if kind == "secret":
        checks.append(
            Check(
                "stripe key",
                "warn",
                "this is a full-access secret key; stripe_kpi only reads, so a restricted key "
                "with read permissions is safer",
            )
        )
    client = client_from_settings(settings)
    try:
        try:
            client.account()
        except StripePermissionDenied:
            pass  # a restricted key may lack "Account: read"; the sync does not need it
        except StripeKpiError as exc:
            # A rejected key or an unreachable server makes the other checks pointless.
            return [*checks, Check("stripe access", "fail", exc.message)]
        missing = []
        for path in READ_PATHS:
            try:
                client.list_page(path, {"limit": 1})
            except StripeKpiError as exc:
                missing.append(exc.message)
        if missing:
            checks += [Check("stripe access", "fail", message) for message in missing]
        else:
            checks.append(Check("stripe access", "ok", f"can read {', '.join(READ_PATHS)}"))
    finally:
        client.close()
    return checks


#: What the sync lists; doctor tries each with limit=1 so a missing permission is named up front.
READ_PATHS = (
    "/v1/customers",
    "/v1/products",
    "/v1/prices",
    "/v1/coupons",
    "/v1/tax_rates",
    "/v1/subscriptions",
    "/v1/subscription_schedules",
    "/v1/invoices",
    "/v1/invoiceitems",
    "/v1/events",
)


def check_smtp(settings: Settings, timeout: float = 10.0) -> list[Check]:
    if not settings.smtp_host:
        return [Check("smtp", "warn", "SMTP_HOST is not set: `report --send` cannot send email")]
    missing = [
        name
        for name, value in (("EMAIL_FROM", settings.email_from), ("EMAIL_TO", settings.email_to))
        if not value
    ]
    checks: list[Check] = []
    if missing:
        checks.append(Check("email", "fail", f"{' and '.join(missing)} not set"))
    port = settings.smtp_port or {"ssl": 465, "starttls": 587, "none": 25}[settings.smtp_security]
    where = f"{settings.smtp_host}:{port}"
    try:
        if settings.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, port, timeout=timeout)
        with client:
            client.ehlo()
            if settings.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.smtp_username and settings.smtp_password:
                client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
    except smtplib.SMTPAuthenticationError:
        return [*checks, Check("smtp", "fail", f"{where} refused SMTP_USERNAME/SMTP_PASSWORD")]
    except smtplib.SMTPNotSupportedError:
        return [
            *checks,
            Check("smtp", "fail", f"{where} does not offer STARTTLS: set SMTP_SECURITY"),
        ]
    except (OSError, smtplib.SMTPException) as exc:  # timeouts are OSErrors
        reason = exc.__class__.__name__
        return [*checks, Check("smtp", "fail", f"cannot reach {where} ({reason})")]
    return [*checks, Check("smtp", "ok", f"{where} ({settings.smtp_security})")]


def run_checks(
    loader: Callable[[], Settings] = load_settings,
) -> list[Check]:
    try:
        settings = loader()
    except StripeKpiError as exc:
        return [Check("settings", "fail", exc.message)]
    checks = [
        Check("settings", "ok", f"currency {settings.currency}, time zone {settings.timezone}")
    ]
    for step in (check_database, check_stripe, check_smtp):
        checks.extend(step(settings))
    return checks
