"""Events: a snapshot of an object at one change, in the pinned API version."""

from __future__ import annotations

from stripe_kpi.simulator.objects.common import API_VERSION, StripeDict


def event(
    *,
    id: str,
    type: str,
    created: int,
    livemode: bool,
    data_object: StripeDict,
    previous_attributes: StripeDict | None = None,
    request_id: str | None = None,
) -> StripeDict:
    """A snapshot event. ``request.id`` is null when Stripe acted on its own (renewal, retry)."""
    data: StripeDict = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "account": None,
        "api_version": API_VERSION,
        "context": None,
        "created": created,
        "data": data,
        "id": id,
        "livemode": livemode,
        "object": "event",
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": None},
        "type": type,
    }
