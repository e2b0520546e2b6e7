"""The account whose key the founder uses (``GET /v1/account``), and its customers."""

from __future__ import annotations

from stripe_kpi.simulator.objects.common import StripeDict


def address(country: str | None = None) -> StripeDict:
    return {
        "city": None,
        "country": country,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


def account(
    *, id: str, name: str, country: str, currency: str, email: str, created: int
) -> StripeDict:
    """The account whose key the founder uses (``GET /v1/account``)."""
    return {
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": "5734",
            "minority_owned_business_designation": None,
            "monthly_estimated_revenue": None,
            "name": name,
            "product_description": "Software as a service",
            "specified_commercial_transactions_act_url": None,
            "support_address": None,
            "support_email": email,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": "company",
        "capabilities": None,
        "charges_enabled": True,
        "company": None,
        "controller": None,
        "country": country,
        "created": created,
        "default_currency": currency,
        "details_submitted": True,
        "email": email,
        "external_accounts": None,
        "future_requirements": None,
        "groups": None,
        "id": id,
        "individual": None,
        "metadata": {},
        "object": "account",
        "payouts_enabled": True,
        "requirements": None,
        "settings": None,
        "tos_acceptance": None,
        "type": "standard",
    }


def customer(
    *,
    id: str,
    created: int,
    livemode: bool,
    name: str | None,
    email: str | None,
    invoice_prefix: str,
    country: str | None = None,
    default_payment_method: str | None = None,
    currency: str | None = None,
    metadata: dict[str, str] | None = None,
) -> StripeDict:
    return {
        "address": address(country) if country else None,
        "balance": 0,
        "business_name": None,
        "created": created,
        "currency": currency,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "id": id,
        "individual_name": None,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": default_payment_method,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": livemode,
        "metadata": dict(metadata or {}),
        "name": name,
        "next_invoice_sequence": 1,
        "object": "customer",
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
