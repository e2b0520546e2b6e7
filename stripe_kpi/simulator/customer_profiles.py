"""Where the customers of ``saas.generate_account`` are, and what the merchant tags them with:
the ``country`` and ``metadata:KEY`` segments (METRICS.md §8) need both.

Stripe keeps a customer's ``address`` (``address.country``: two-letter ISO 3166-1) only when the
merchant or Checkout collected one, else ``address`` is null (docs.stripe.com/api/customers/object);
``metadata`` holds whatever keys the merchant set, as strings. Drawn from a random stream of its
own, so every other step of every customer's life is drawn as before: most customers have the
country of their currency, a few a neighbour's, a few no address at all; some carry a
``segment`` tag (``smb`` or ``enterprise``) beside the ``company`` every customer has.
"""

from __future__ import annotations

import random

#: Countries a customer of each billing currency lives in, with weights.
_COUNTRIES = {
    "usd": (("US", 80), ("CA", 8), ("AU", 5), ("BR", 2)),
    "eur": (("DE", 60), ("FR", 25), ("NL", 15)),
    "gbp": (("GB", 100),),
}
#: Share of customers without an address (a checkout that collected none).
NO_ADDRESS_SHARE = 0.06
#: Share of customers the merchant tagged with a ``segment``, and the tags' weights.
TAGGED_SHARE = 0.4
_SEGMENTS = (("smb", 3), ("enterprise", 1))


def plan_profile(rng: random.Random, currency: str) -> tuple[str | None, dict[str, str]]:
    """One customer's ``address.country`` (None: no address) and the metadata keys beyond
    ``company`` (``{"segment": ...}`` for some, else none)."""
    country = None
    if rng.random() >= NO_ADDRESS_SHARE:
        names, weights = zip(*_COUNTRIES.get(currency, (("US", 1),)), strict=True)
        country = rng.choices(names, weights=weights)[0]
    metadata: dict[str, str] = {}
    if rng.random() < TAGGED_SHARE:
        names, weights = zip(*_SEGMENTS, strict=True)
        metadata["segment"] = rng.choices(names, weights=weights)[0]
    return country, metadata
