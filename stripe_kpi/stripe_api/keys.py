"""Stripe API keys: which kind (secret or restricted) and which mode (test or live) a key is.

A key's mode decides its rate limits (``limiter``) and its kind decides what ``doctor`` advises;
both are read off the key's prefix, and every message here is written so that it never echoes
the key itself.
"""

from __future__ import annotations

import re
from typing import Literal

from stripe_kpi.errors import ConfigurationError

KeyKind = Literal["secret", "restricted"]
KeyMode = Literal["test", "live"]

_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$")


def _parse_key(api_key: str) -> tuple[KeyKind, KeyMode]:
    """Split a key into kind and mode, or explain what is wrong without ever echoing it."""
    if not api_key:
        raise ConfigurationError(
            "STRIPE_API_KEY is empty: set it to a restricted key (rk_live_…) with read access"
        )
    if api_key != api_key.strip() or api_key[0] in "'\"" or api_key[-1] in "'\"":
        raise ConfigurationError(
            "STRIPE_API_KEY has surrounding spaces or quotes: set it to the key alone"
        )
    if api_key.startswith("pk_"):
        raise ConfigurationError(
            "STRIPE_API_KEY is a publishable key (pk_…), which cannot read billing data: use a "
            "restricted key (rk_…) with read access, or a secret key (sk_…)"
        )
    match = _KEY_PATTERN.match(api_key)
    if match is None:
        raise ConfigurationError(
            "STRIPE_API_KEY is not a Stripe secret or restricted key (expected sk_test_…, "
            "sk_live_…, rk_test_… or rk_live_…)"
        )
    prefix, mode = match.group(1), match.group(2)
    return ("secret" if prefix == "sk" else "restricted"), ("test" if mode == "test" else "live")


def key_kind(api_key: str) -> KeyKind:
    """``secret`` (sk_: full access) or ``restricted`` (rk_: only the permissions it was given).

    ``doctor`` uses it to recommend a restricted read-only key. A malformed key raises
    ``ConfigurationError``; the message never contains the key.
    """
    return _parse_key(api_key)[0]


def key_mode(api_key: str) -> KeyMode:
    """``test`` or ``live``: the two modes see different data and have different rate limits."""
    return _parse_key(api_key)[1]
