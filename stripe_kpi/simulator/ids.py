"""Stripe-looking object ids, deterministic for a seed.

Stripe ids are a type prefix and a random base62 tail (``cus_NffrFeUfNV2Hib``,
``sub_1MowQVLkdIwHu7ixeRlqHVzs``). Ours hash the seed, the prefix and a per-prefix counter, so
the same script on the same seed names every object the same way, and two seeds never collide
in practice.
"""

from __future__ import annotations

import hashlib

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: Byte → base62 character (a slight bias towards the first characters does not matter here).
_BASE62 = bytes(ord(_ALPHABET[i % 62]) for i in range(256))

#: Tail length by prefix, as Stripe's own ids look (short ids for customers, products, items).
_TAIL_LENGTH = {"cus": 14, "prod": 14, "si": 14, "acct": 16}


class IdFactory:
    """Hands out ids such as ``in_1…`` in a sequence that depends only on the seed."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counters: dict[str, int] = {}

    def new(self, prefix: str) -> str:
        n = self._counters.get(prefix, 0)
        self._counters[prefix] = n + 1
        length = _TAIL_LENGTH.get(prefix, 24)
        digest = hashlib.blake2b(f"{self._seed}:{prefix}:{n}".encode(), digest_size=24).digest()
        tail = digest[:length].translate(_BASE62).decode()
        if length == 24:
            tail = "1" + tail[1:]  # Stripe's long ids start with a version digit
        return f"{prefix}_{tail}"
