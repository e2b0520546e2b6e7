"""The network edge: keys and modes (:mod:`.keys`), the shared rate limiter (:mod:`.limiter`),
the client with its retries and paging (:mod:`.client`), and the messages a founder reads when
Stripe refuses us (:mod:`.messages`). Nothing else in stripe_kpi talks to Stripe."""

from stripe_kpi.stripe_api.client import (
    API_VERSION,
    RetryPolicy,
    StripeApi,
    client_from_settings,
    endpoint_key,
    make_client,
)
from stripe_kpi.stripe_api.keys import KeyKind, KeyMode, key_kind, key_mode
from stripe_kpi.stripe_api.messages import permission_label

__all__ = [
    "API_VERSION",
    "KeyKind",
    "KeyMode",
    "RetryPolicy",
    "StripeApi",
    "client_from_settings",
    "endpoint_key",
    "key_kind",
    "key_mode",
    "make_client",
    "permission_label",
]
