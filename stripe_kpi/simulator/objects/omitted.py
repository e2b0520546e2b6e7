"""The keys Stripe leaves out of a response when they are unset, instead of sending ``null``.

The builders store every field, ``None`` where unset, so the billing engine can read and diff
them. What the API sends differs for a few optional fields: Stripe's OpenAPI spec lists them
outside an object's ``required`` properties, and without ``nullable`` an unset value cannot be
``null`` in the JSON: the key is simply absent. stripe-node's types, generated from that spec,
show the difference (``threshold_reason?: Invoice.ThresholdReason;`` against
``customer_account: string | null;``; stripe-node ``src/resources/*.ts`` at API version
2026-07-29.dahlia, the newest one that spec is stored for here; our pinned version is
2026-10-28.endive). The installed ``stripe`` package annotates both as ``Optional[...]``, so
``tests/stripe_shape.py`` cannot tell them apart without this table.

Sources per entry: "spec" is that rule (optional and not nullable in stripe-node dahlia);
"observed" is a key the founders saw missing from a real account's responses (issue 10) where the
dahlia spec does not settle it (optional *and* nullable, or newer than dahlia).

:data:`OMITTED_WHEN_UNSET` has one entry per object kind (its ``object`` value); a path is dotted
(``issuer.account``: the ``account`` key of the embedded ``issuer`` hash). Objects embedded with
an ``object`` of their own (a subscription's items, an event's ``data.object``, an expanded
customer) follow their own entry. Add a kind's entry here when the simulator starts serving it.
Fields Stripe returns only when expanded are a different rule: ``server/expand.py``
``INCLUDABLE``.
"""

from __future__ import annotations

from stripe_kpi.simulator.objects.common import StripeDict

#: Object kind → the keys (dotted paths) Stripe omits when unset rather than sending ``null``.
OMITTED_WHEN_UNSET: dict[str, tuple[str, ...]] = {
    # spec: capabilities?, company?, controller?, external_accounts?, future_requirements?,
    # individual?, requirements?, tos_acceptance?, business_profile.monthly_estimated_revenue?
    "account": (
        "business_profile.monthly_estimated_revenue",
        "capabilities",
        "company",
        "controller",
        "external_accounts",
        "future_requirements",
        "individual",
        "requirements",
        "tos_acceptance",
    ),
    # spec: invoice_line_item? (a custom line credits no invoice line).
    "credit_note_line_item": ("invoice_line_item",),
    # spec: business_name?: string, individual_name?: string; observed: customer_account
    # (``customer_account?: string | null``: optional and nullable in dahlia).
    "customer": ("business_name", "customer_account", "individual_name"),
    # spec: payment_method_details.{amazon_pay,klarna,paypal}? (only the method that paid is
    # there), evidence.enhanced_evidence.*?, evidence_details.enhanced_eligibility.*?
    "dispute": (
        "evidence.enhanced_evidence.mastercard_compliance",
        "evidence.enhanced_evidence.visa_compelling_evidence_3",
        "evidence.enhanced_evidence.visa_compliance",
        "evidence_details.enhanced_eligibility.mastercard_compliance",
        "evidence_details.enhanced_eligibility.visa_compelling_evidence_3",
        "evidence_details.enhanced_eligibility.visa_compliance",
        "payment_method_details.amazon_pay",
        "payment_method_details.klarna",
        "payment_method_details.paypal",
    ),
    # spec: account?: string and context?: string (Connect / organizations only),
    # data.previous_attributes? (``*.updated`` events only).
    "event": ("account", "context", "data.previous_attributes"),
    # spec: threshold_reason? (threshold invoices only), issuer.account? (``type: self`` has
    # none), parent.subscription_details.subscription_proration_date? (previews only);
    # observed: status_details (endive, not in the dahlia spec; set once uncollectible).
    "invoice": (
        "issuer.account",
        "parent.subscription_details.subscription_proration_date",
        "status_details",
        "threshold_reason",
    ),
    # spec: proration_details? (prorations only), its credited_items.invoice_item? (a credit of
    # invoice lines names no invoice item).
    "invoiceitem": ("proration_details", "proration_details.credited_items.invoice_item"),
    # spec: presentment_details?, invoice_settings.issuer.account?; observed: status_details.
    "subscription": ("invoice_settings.issuer.account", "presentment_details", "status_details"),
    # spec: default_settings.invoice_settings.issuer.account? (``type: self`` has none).
    "subscription_schedule": ("default_settings.invoice_settings.issuer.account",),
    # spec: billed_until?, quantity? (a metered item has none).
    "subscription_item": ("billed_until", "quantity"),
}


class _Node:
    """One key of a kind's table: drop it when null (``leaf``), and/or look inside it."""

    __slots__ = ("children", "leaf")

    def __init__(self) -> None:
        self.leaf = False
        self.children: dict[str, _Node] = {}


def _tree(paths: tuple[str, ...]) -> dict[str, _Node]:
    root: dict[str, _Node] = {}
    for path in paths:
        *parents, last = path.split(".")
        level = root
        for part in parents:
            level = level.setdefault(part, _Node()).children
        level.setdefault(last, _Node()).leaf = True
    return root


_TREES = {kind: _tree(paths) for kind, paths in OMITTED_WHEN_UNSET.items()}


def omit_unset(obj: StripeDict) -> StripeDict:
    """``obj`` as the API sends it: the keys its kind omits when unset left out where they are
    ``None``. A copy when anything is left out (the stored object is never changed); only this
    object's own keys, not those of objects embedded in it."""
    tree = _TREES.get(obj.get("object", ""))
    return obj if tree is None else _prune(obj, tree)


def _prune(value: StripeDict, tree: dict[str, _Node]) -> StripeDict:
    out: StripeDict | None = None
    for key, node in tree.items():
        if key not in value:
            continue
        current = value[key]
        if current is None:
            if node.leaf:
                out = dict(value) if out is None else out
                del out[key]
        elif node.children and isinstance(current, dict):
            pruned = _prune(current, node.children)
            if pruned is not current:
                out = dict(value) if out is None else out
                out[key] = pruned
    return value if out is None else out
