"""Sending the report: SMTP, retries, and the ``report_delivery`` record.

The rule that matters: a report is stored before it is sent (status ``rendered``), then marked
``sent`` or ``failed`` with the number of attempts and the error, so no morning's numbers are lost
to a mail server that was down, and "was it sent?" has an answer in the database. ``--send`` sends
a day once: a day already ``sent`` is not sent again unless forced, and two senders of one day
at the same instant send one email (the day is claimed first: :mod:`.claim`).

Only refusals that may pass are retried (connection refused or reset, timeouts, 4xx replies); a
wrong password, a refused recipient or a TLS mismatch fail at once with a line that says which
setting to fix.
"""

from __future__ import annotations

import copy
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import select

from stripe_kpi.config import Settings
from stripe_kpi.errors import ConfigurationError, DeliveryError
from stripe_kpi.log import get_logger
from stripe_kpi.report.claim import Claim, claim_day, sent_at, settle_claim
from stripe_kpi.store.engine import session_scope
from stripe_kpi.store.models import ReportDelivery

log = get_logger(__name__)

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
ATTEMPTS = 3
BACKOFF_SECONDS = 5.0  # 5 s, then 10 s: long enough for a restarting relay, short for cron

Security = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to connect. ``ssl_context`` defaults to the system's trust store; tests pass
    one that trusts their own certificate."""

    host: str
    port: int
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str
    recipients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What happened to one day's report. ``status``: ``sent``; ``already_sent`` (not resent:
    the day was sent before and ``force`` was not given); ``sending_elsewhere`` (not sent:
    another process holds the day's claim and is sending it, ``note`` says who); ``rendered``
    (stored, not asked to send)."""

    report_date: str
    status: Literal["sent", "already_sent", "sending_elsewhere", "rendered"]
    delivery_id: int
    subject: str
    attempts: int = 0
    recipients: tuple[str, ...] = ()
    previously_sent_at: int | None = None
    note: str | None = None

    def describe(self) -> str:
        """One line for the terminal and the logs."""
        if self.status == "sent":
            tries = "" if self.attempts == 1 else f" after {self.attempts} attempts"
            return f"sent the report for {self.report_date} to {', '.join(self.recipients)}{tries}"
        if self.status == "already_sent":
            return (
                f"not sent: the report for {self.report_date} was already sent "
                f"(report_delivery keeps it); use --force to send it again"
            )
        if self.status == "sending_elsewhere":
            return f"not sent: {self.note}"
        return f"rendered the report for {self.report_date} (kept in report_delivery, not sent)"


class SmtpDeliveryError(DeliveryError):
    """Delivery failed; ``attempts`` says how many connections were tried."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


def smtp_from_settings(settings: Settings) -> tuple[SmtpTarget, Envelope]:
    """The SMTP target and envelope, or one ``ConfigurationError`` line naming every missing
    setting (a founder fixes them all at once, not one per run)."""
    missing = [
        name
        for name, value in (
            ("SMTP_HOST", settings.smtp_host),
            ("EMAIL_FROM", settings.email_from),
            ("EMAIL_TO", settings.email_to),
        )
        if not value
    ]
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    if settings.smtp_username and not password:
        missing.append("SMTP_PASSWORD")
    if password and not settings.smtp_username:
        missing.append("SMTP_USERNAME")
    if missing:
        raise ConfigurationError(
            f"cannot send the report: {', '.join(missing)} not set (put them in the environment "
            "or .env; .env.example lists them)"
        )
    host, sender_value, to_value = settings.smtp_host, settings.email_from, settings.email_to
    assert host is not None
    assert sender_value is not None
    assert to_value is not None
    sender = _addresses(sender_value, "EMAIL_FROM")
    if len(sender) != 1:
        raise ConfigurationError("EMAIL_FROM must be one address, e.g. reports@example.com")
    target = SmtpTarget(
        host=host,
        port=settings.smtp_port or DEFAULT_PORTS[settings.smtp_security],
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=password,
    )
    return target, Envelope(sender[0], _addresses(to_value, "EMAIL_TO"))


def _addresses(value: str, name: str) -> tuple[str, ...]:
    """``a@x.com, Founder <b@y.com>`` → the bare addresses; a value with none is a setting error."""
    found = tuple(addr for _, addr in getaddresses([value]) if "@" in addr)
    if not found:
        raise ConfigurationError(f"{name} has no email address (e.g. founder@example.com)")
    return found


def address_message(message: EmailMessage, envelope: Envelope, now: datetime) -> EmailMessage:
    """Add From, To, Date and Message-ID to a rendered report (a copy: the rendering stays pure
    and can be sent again)."""
    addressed = copy.deepcopy(message)
    addressed["From"] = envelope.sender
    addressed["To"] = ", ".join(envelope.recipients)
    addressed["Date"] = format_datetime(now)
    addressed["Message-ID"] = make_msgid("stripe-kpi", domain=envelope.sender.rpartition("@")[2])
    return addressed


def send_message(
    message: EmailMessage,
    target: SmtpTarget,
    envelope: Envelope,
    *,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send, retrying what may pass; return the number of attempts it took.

    Raises ``SmtpDeliveryError`` (a ``DeliveryError``) with one line after the last attempt, or
    at once for a refusal that retrying cannot fix.
    """
    reason = "no attempt made"
    for attempt in range(1, attempts + 1):
        try:
            _send_once(message, target, envelope)
            return attempt
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpDeliveryError(
                f"{target.address} refused the login for SMTP_USERNAME={target.username}: "
                f"{_reply(exc)} (check SMTP_USERNAME and SMTP_PASSWORD)",
                attempt,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            if "AUTH" in str(exc):
                raise SmtpDeliveryError(
                    f"{target.address} does not offer login (AUTH): most servers offer it only "
                    "over TLS (SMTP_SECURITY=starttls or ssl); a relay that needs no login needs "
                    "no SMTP_USERNAME/SMTP_PASSWORD",
                    attempt,
                ) from None
            raise SmtpDeliveryError(
                f"{target.address} does not offer STARTTLS: set SMTP_SECURITY=ssl (port 465) or, "
                "on a trusted local relay only, SMTP_SECURITY=none",
                attempt,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise SmtpDeliveryError(
                f"{target.address} refused the recipients {refused} (check EMAIL_TO)", attempt
            ) from None
        except ssl.SSLError as exc:
            raise SmtpDeliveryError(
                f"TLS with {target.address} failed ({exc.reason or exc}): check SMTP_SECURITY "
                "(ssl for port 465, starttls for 587) and the server's certificate",
                attempt,
            ) from None
        except smtplib.SMTPResponseException as exc:
            if not 400 <= exc.smtp_code < 500:
                raise SmtpDeliveryError(
                    f"{target.address} refused the report: {_reply(exc)}", attempt
                ) from None
            reason = f"temporary refusal {_reply(exc)}"
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            reason = _network_reason(exc)
        log.warning(
            "report_send_retry", smtp=target.address, attempt=attempt, of=attempts, reason=reason
        )
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    raise SmtpDeliveryError(
        f"could not deliver the report through {target.address} after {attempts} attempts: "
        f"{reason} (is SMTP_HOST/SMTP_PORT right and the server up? the report is kept in "
        "report_delivery; run `stripe-kpi report --send` again)",
        attempts,
    )


def _send_once(message: EmailMessage, target: SmtpTarget, envelope: Envelope) -> None:
    context = target.ssl_context or ssl.create_default_context()
    client: smtplib.SMTP
    if target.security == "ssl":
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=target.timeout, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
    with client:
        client.ehlo()
        if target.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if target.username and target.password:
            client.login(target.username, target.password)
        client.send_message(message, from_addr=envelope.sender, to_addrs=list(envelope.recipients))


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {' '.join(text.split())}".strip()


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    return " ".join(str(exc).split()) or exc.__class__.__name__


# ---------------------------------------------------------------------------------------------
# The report_delivery record
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """One day's report in every form: the email (no envelope yet) and the standalone HTML page
    that is stored (its chart embedded, so the stored copy is whole)."""

    report_date: str
    message: EmailMessage
    text: str
    html_page: str

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


def already_sent(engine: Engine, report_date: str) -> bool:
    """Whether the report for ``report_date`` (YYYY-MM-DD) has been sent (its claim says so)."""
    return sent_at(engine, report_date) is not None


def deliver_report(
    engine: Engine,
    report: RenderedReport,
    *,
    now: datetime,
    target: SmtpTarget | None = None,
    envelope: Envelope | None = None,
    send: bool = True,
    force: bool = False,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryOutcome:
    """Store the report, then send it once per day.

    The row is committed as ``rendered`` before any connection is made; it becomes ``sent``
    (with ``sent_at``) or ``failed`` (with the error) afterwards. With ``send=False`` the report
    is only stored. Before sending, the day is claimed (:func:`.claim.claim_day`): a day sent
    before (without ``force``), or being sent by another process right now, is not sent. Raises
    ``DeliveryError`` when sending fails (the row says ``failed``, the claim is freed).
    """
    if send and (target is None or envelope is None):
        raise ValueError("sending needs an SMTP target and an envelope")
    stamp = int(now.timestamp())
    recipients = envelope.recipients if envelope else ()
    with session_scope(engine) as session:
        previous = session.exec(
            select(ReportDelivery)
            .where(ReportDelivery.report_date == report.report_date)
            .where(ReportDelivery.status == "sent")
            .order_by(ReportDelivery.id.desc())  # type: ignore[union-attr]
        ).first()
        previously_sent_at = previous.sent_at if previous else None
        row = ReportDelivery(
            report_date=report.report_date,
            created_at=stamp,
            status="rendered",
            recipients=", ".join(recipients) or None,
            subject=report.subject,
            text_body=report.text,
            html_body=report.html_page,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        delivery_id = row.id

    outcome = DeliveryOutcome(
        report_date=report.report_date,
        status="rendered",
        delivery_id=delivery_id,
        subject=report.subject,
        recipients=recipients,
        previously_sent_at=previously_sent_at,
    )
    if not send:
        return outcome
    assert target is not None
    assert envelope is not None
    claim = claim_day(engine, report.report_date, now=stamp, force=force)
    if not isinstance(claim, Claim):
        _update(engine, delivery_id, error=f"not sent: {claim.describe()}")
        if claim.state == "sent":
            log.info("report_already_sent", report_date=report.report_date, delivery_id=delivery_id)
            return replace(outcome, status="already_sent", previously_sent_at=claim.sent_at)
        holder = claim.holder
        log.info(
            "report_sending_elsewhere",
            report_date=report.report_date,
            host=holder.host if holder else None,
            pid=holder.pid if holder else None,
        )
        return replace(outcome, status="sending_elsewhere", note=claim.describe())

    message = address_message(report.message, envelope, now)
    try:
        used = send_message(message, target, envelope, attempts=attempts, sleep=sleep)
    except SmtpDeliveryError as exc:
        _update(engine, delivery_id, status="failed", attempts=exc.attempts, error=exc.message)
        settle_claim(engine, claim, sent_at=None, delivery_id=delivery_id)
        log.error("report_send_failed", report_date=report.report_date, error=exc.message)
        raise
    except BaseException:  # interrupted mid-send: free the day for the next run at once
        settle_claim(engine, claim, sent_at=None, delivery_id=delivery_id)
        raise
    _update(engine, delivery_id, status="sent", attempts=used, sent_at=stamp)
    settle_claim(engine, claim, sent_at=stamp, delivery_id=delivery_id)
    log.info(
        "report_sent", report_date=report.report_date, recipients=len(recipients), attempts=used
    )
    return replace(outcome, status="sent", attempts=used)


def _update(engine: Engine, delivery_id: int, **values: object) -> None:
    with session_scope(engine) as session:
        row = session.get(ReportDelivery, delivery_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
