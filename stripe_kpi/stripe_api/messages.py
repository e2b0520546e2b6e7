"""The one-line messages a founder sees when Stripe refuses us or cannot be reached.

Each names what to do next in Dashboard terms (the restricted key's missing permission, as the
key editor labels it), and none ever contains the key: Stripe quotes the key in some messages,
so everything from Stripe passes :func:`redact_keys` first.
"""

from __future__ import annotations

import re

import stripe

_KEY_LIKE = re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9*.…]*")
_RAK_PERMISSION = re.compile(r"\brak_([a-z0-9_]+?)_(read|write)\b")
_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")

# Dashboard labels that are not "the permission's resource name, capitalised, plural".
_PERMISSION_LABELS = {
    "plan": "Prices",  # the permission keeps the API's original name for prices
    "price": "Prices",
    "balance": "Balance",
    "account": "Account",
}


def redact_keys(text: str) -> str:
    return _KEY_LIKE.sub("[key]", text)


def permission_label(permission: str) -> tuple[str, str]:
    """``rak_subscription_read`` → ``("Subscriptions", "read")``: the row and column a founder
    sees when editing a restricted key in the Dashboard."""
    match = _RAK_PERMISSION.fullmatch(permission)
    if match is None:
        return permission, "read"
    resource, access = match.group(1), match.group(2)
    label = _PERMISSION_LABELS.get(resource)
    if label is None:
        words = resource.replace("_", " ")
        label = words[:1].upper() + words[1:]
        if not label.endswith("s"):
            label += "s"
    return label, access


def network_reason(err: stripe.APIConnectionError) -> str:
    text = str(err.user_message or "")
    match = _ERRNO_TEXT.search(text)
    if match:
        return match.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    cause = err.__cause__
    return type(cause).__name__ if cause is not None else "network error"


def permission_message(path: str, stripe_says: str) -> str:
    """403 from a restricted key: name the missing permission as the Dashboard shows it.

    Stripe's message reads "The provided key 'rk_live_…' does not have the required permissions
    for this endpoint on account 'acct_…'. Having the 'rak_subscription_read' permission would
    allow this request to continue."
    """
    match = _RAK_PERMISSION.search(stripe_says)
    if match is None:
        return (
            f"Stripe refused GET {path} (403): {stripe_says}; give the key read access to this "
            "resource (Dashboard → Developers → API keys)"
        )
    label, access = permission_label(match.group(0))
    return (
        f"Stripe refused GET {path} (403): the key lacks the '{label}: {access}' permission; "
        f"create a restricted key with {access} access to {label} (Dashboard → Developers → "
        "API keys), or add that permission to this key"
    )


def final_message(
    err: stripe.StripeError,
    path: str,
    *,
    api_base: str,
    attempts: int,
    seconds: float,
    exhausted: bool,
) -> str:
    """The one line a founder reads when ``GET path`` finally fails after ``attempts`` tries over
    ``seconds`` (``exhausted``: the retries ran out, rather than Stripe saying a retry is
    pointless)."""
    status = err.http_status
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    over = f"{tries} over {seconds:.0f}s"
    stripe_says = redact_keys(str(err.user_message or "")).strip()
    if isinstance(err, stripe.APIConnectionError):
        return (
            f"Cannot reach the Stripe API at {api_base}: {network_reason(err)} "
            f"({over}); check the network connection and proxy, or STRIPE_API_BASE"
        )
    if status == 401:
        return (
            "Stripe rejected the API key (401): check STRIPE_API_KEY; the key may be "
            "mistyped, expired or revoked (Dashboard → Developers → API keys)"
        )
    if status == 403:
        return permission_message(path, stripe_says)
    if exhausted and status == 429:
        return (
            f"Stripe kept rate-limiting GET {path} (429) after {over}; try again later, or "
            "lower STRIPE_KPI_RATE_LIMIT"
        )
    if exhausted:
        return (
            f"Stripe kept failing GET {path} (HTTP {status}) after {over}; try again later "
            "(https://status.stripe.com)"
        )
    if err.error is None:  # the body was not a Stripe error object: not JSON, or not Stripe's
        return (
            f"The server at {api_base} answered GET {path} with HTTP {status} and a body "
            "that is not Stripe's JSON; check STRIPE_API_BASE"
        )
    if status is not None and (status >= 500 or status == 409):
        return (
            f"Stripe failed GET {path} (HTTP {status}) and said a retry would not help: "
            f"{stripe_says}"
        )
    return f"Stripe refused GET {path} (HTTP {status}): {stripe_says}"
