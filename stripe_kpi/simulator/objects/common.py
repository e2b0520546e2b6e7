"""What every object family shares: the dict type, the pinned API version, the list wrapper."""

from __future__ import annotations

from typing import Any

from stripe._api_version import _ApiVersion

StripeDict = dict[str, Any]

API_VERSION = _ApiVersion.CURRENT


def list_object(data: list[StripeDict], url: str) -> StripeDict:
    """A Stripe list: what ``subscription.items`` and ``invoice.lines`` embed."""
    return {"object": "list", "data": data, "has_more": False, "url": url}
