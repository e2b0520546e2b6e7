"""One error tree. Each error carries a one-line message that tells the user what to do next;
the CLI prints that line and exits with the error's code (tracebacks only with --debug)."""


class StripeKpiError(Exception):
    """Base of every error the CLI turns into one line and an exit code."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(StripeKpiError):
    """A setting is missing or malformed."""

    exit_code = 2


class StripeAccessError(StripeKpiError):
    """Stripe (or the server at STRIPE_API_BASE) refused us or could not be reached."""

    exit_code = 3


class StripeNotFound(StripeAccessError):
    """Stripe has no object with the id we sent: a 404 for the id in the path
    (``/v1/invoices/in_gone``), or Stripe's ``resource_missing`` for an id in a parameter (a 400
    for a cursor such as ``ending_before=evt_gone``)."""


class StripePermissionDenied(StripeAccessError):
    """Stripe answered 403: a restricted key lacks the permission this request needs (the message
    names it as the Dashboard does)."""


class EventCursorExpired(StripeKpiError):
    """Stripe no longer knows the event our cursor names (it keeps events 30 days, or the key
    now reads another account): only a full resync brings the database back in step."""


class SyncConflictError(StripeKpiError):
    """Another sync holds the lock on this database."""

    exit_code = 4


class StorageError(StripeKpiError):
    """The database cannot be opened, is locked, read-only or from a newer version."""

    exit_code = 5


class DeliveryError(StripeKpiError):
    """The report could not be delivered (SMTP)."""

    exit_code = 6


class InputError(StripeKpiError):
    """Bad command-line input (a date, a range)."""

    exit_code = 2


class SyncInterrupted(StripeKpiError):
    """Asked to stop (SIGTERM to the worker): everything fetched is committed, the rest waits."""

    exit_code = 130

    def __init__(
        self,
        message: str = "sync stopped between pages; the next sync resumes where this one stopped",
    ) -> None:
        super().__init__(message)
