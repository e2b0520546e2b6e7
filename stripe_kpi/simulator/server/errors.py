"""Stripe's error responses, as the simulator sends them.

Every error is ``{"error": {"type": ..., "message": ..., "code"?: ..., "param"?: ...}}`` with an
HTTP status that the official client turns into its exception tree (``_api_requestor.py``:
401 → ``AuthenticationError``, 403 → ``PermissionError``, 400/404 → ``InvalidRequestError``,
429 → ``RateLimitError``, anything else → ``APIError``). Messages copy Stripe's wording where it is
known (from Stripe's docs and error bodies quoted in public issues); the few that are guessed say
so beside them.
"""

from __future__ import annotations

import re
from typing import Any

_KEY_PREFIX = re.compile(r"^[a-z]{2,4}_(?:test|live)_")
DOCS = "https://stripe.com/docs"


class StripeHTTPError(Exception):
    """An error answer: status, Stripe's JSON error object and any extra headers."""

    def __init__(
        self, status: int, error: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error
        self.headers = headers or {}

    @property
    def body(self) -> dict[str, Any]:
        return {"error": self.error}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeHTTPError:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code is not None:
        error["code"] = code
        error["doc_url"] = f"{DOCS}/error-codes/{code.replace('_', '-')}"
    if param is not None:
        error["param"] = param
    return StripeHTTPError(status, error)


def mask_key(key: str, visible: int = 4) -> str:
    """Stripe echoes a key in errors as its prefix, stars, and its last few characters."""
    match = _KEY_PREFIX.match(key)
    shown = match.group(0) if match else ""
    hidden = max(len(key) - len(shown) - visible, 4)
    return f"{shown}{'*' * hidden}{key[-visible:] if len(key) > visible else ''}"


def missing_api_key() -> StripeHTTPError:
    return StripeHTTPError(
        401,
        {
            "type": "invalid_request_error",
            "message": "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or "
            "we can help at https://support.stripe.com/.",
        },
    )


def invalid_api_key(key: str) -> StripeHTTPError:
    """No ``code``: Stripe's body for a wrong key carries only type and message."""
    message = f"Invalid API Key provided: {mask_key(key)}"
    return StripeHTTPError(401, {"type": "invalid_request_error", "message": message})


def expired_api_key(key: str) -> StripeHTTPError:
    """A rolled or revoked key: Stripe's ``api_key_expired`` code (message wording guessed)."""
    error = invalid_request(f"Expired API Key provided: {mask_key(key)}", code="api_key_expired")
    error.status = 401
    return error


def missing_permission(key: str, account_id: str, permission: str | None) -> StripeHTTPError:
    """A restricted key without the endpoint's permission: 403 naming what would fix it.

    Wording as Stripe sends it (quoted in stripe-node#2246 and others); the key shows its last
    six characters there. ``permission=None`` is the endpoint no restricted key may call.
    """
    head = (
        f"The provided key '{mask_key(key, 6)}' does not have the required permissions for this "
        f"endpoint on account '{account_id}'."
    )
    tail = (
        f" Having the '{permission}' permission would allow this request to continue."
        if permission
        else " This is a restricted API key, but the required permissions are not available "
        "for use by restricted keys."
    )
    return StripeHTTPError(403, {"type": "invalid_request_error", "message": head + tail})


def resource_missing(object_name: str, object_id: str, *, param: str = "id") -> StripeHTTPError:
    """404 for an id path; a bad cursor is a 400 (the request, not the URL, is wrong: guessed)."""
    status = 404 if param == "id" else 400
    readable = object_name.replace("_", " ")
    return invalid_request(
        f"No such {readable}: '{object_id}'", param=param, code="resource_missing", status=status
    )


def unknown_parameter(name: str) -> StripeHTTPError:
    return invalid_request(
        f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
    )


def invalid_integer(name: str, value: object) -> StripeHTTPError:
    return invalid_request(
        f"Invalid integer: {value}", param=name, code="parameter_invalid_integer"
    )


def unrecognized_url(method: str, path: str) -> StripeHTTPError:
    message = (
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/."
    )
    return StripeHTTPError(404, {"type": "invalid_request_error", "message": message})


def cannot_expand(path: str, hint: str | None = None) -> StripeHTTPError:
    """Stripe validates ``expand[]`` strictly; on a list it wants the ``data.`` prefix."""
    message = f"This property cannot be expanded ({path})."
    if hint:
        message += f" You may want to try expanding '{hint}' instead."
    return invalid_request(message, param="expand")


def expansion_too_deep(path: str) -> StripeHTTPError:
    """Past Stripe's four levels. The sentence is quoted in public reports (stripe-java#2011;
    a list's ``data.items.data.price.product`` fails with it); the ``Property:`` tail is guessed."""
    return invalid_request(
        f"You cannot expand more than 4 levels of a property. Property: {path}", param="expand"
    )


def missing_parameter(name: str) -> StripeHTTPError:
    """A required parameter left out, such as ``subscription`` on ``/v1/subscription_items``."""
    return invalid_request(f"Missing required param: {name}.", param=name, code="parameter_missing")


def rate_limited(reason: str) -> StripeHTTPError:
    """429 ``rate_limit``; no ``Stripe-Should-Retry``.

    Stripe's SDKs deliberately do not retry real rate limits (only ``lock_timeout`` 429s, which
    this simulator does not produce), and stripe-python retries a 429 only when the server says
    ``Stripe-Should-Retry: true``: so the header is left out. ``Stripe-Rate-Limited-Reason``
    names the limiter (``global-rate`` or ``endpoint-rate``) as we understand Stripe does; that
    header is not confirmed by the docs we could read.
    """
    error = invalid_request(
        "Request rate limit exceeded. You can learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )
    error.status = 429
    error.headers["Stripe-Rate-Limited-Reason"] = reason
    return error


def api_error() -> StripeHTTPError:
    """An injected 500: ``api_error`` and ``Stripe-Should-Retry: true`` (a GET is safe to redo)."""
    message = (
        "Sorry, something went wrong. We've already been notified of the problem, but if you "
        "need any help, you can reach us at support.stripe.com/contact."
    )
    return StripeHTTPError(
        500, {"type": "api_error", "message": message}, {"Stripe-Should-Retry": "true"}
    )
