"""``GET /v1/invoiceitems``: the prorations Stripe holds for the next invoice, through the SDK.

The account: 5 seats × $120/year from 1 Jan 2026; on 10 Mar 8 seats (``create_prorations``),
so two pending items wait for the renewal of 1 Jan 2027; on 20 Apr one more seat for another
customer's monthly plan, invoiced at its renewal on 1 May.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import stripe

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.clock import to_unix
from stripe_kpi.simulator.data import StripeData
from stripe_kpi.simulator.server import SimulatorServer


def on(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.fixture(scope="module")
def account() -> StripeData:
    acct = BillingAccount(on(1, 1), seed=4)
    ada = acct.create_customer("Ada", "ada@example.com")
    bo = acct.create_customer("Bo", "bo@example.com")
    yearly = acct.create_price(12_000, "year", product="Seats")
    monthly = acct.create_price(1_000, "month", product="Team")
    acct.subscribe(ada, [(yearly, 5)])
    team = acct.subscribe(bo, [(monthly, 2)])
    ada_sub = next(s for s in acct.subscriptions.values() if s["customer"] == ada["id"])
    acct.change(ada_sub, on(3, 10), quantity=8)
    acct.change(team, on(4, 20), quantity=3)
    acct.advance(on(6, 1))
    return acct.snapshot()


@pytest.fixture(scope="module")
def client(account: StripeData) -> Iterator[stripe.StripeClient]:
    with SimulatorServer(account) as server:
        http_client = stripe.RequestsClient()
        try:
            yield stripe.StripeClient(
                server.api_key,
                base_addresses={"api": server.url},
                max_network_retries=0,
                http_client=http_client,
            )
        finally:
            http_client.close()


def test_pending_lists_the_uninvoiced_prorations_only(client: stripe.StripeClient) -> None:
    """Ada's two prorations of 10 Mar wait for 1 Jan 2027; Bo's of 20 Apr went on the 1 May
    renewal. Amounts: the period (1 Jan 2026 – 1 Jan 2027) has
    31 536 000 s, 10 Mar → 1 Jan 2027 is 297 days = 25 660 800 s; credit 5 × $120 = 60 000 ×
    25 660 800 / 31 536 000 = 48 821.9… → −48 822; debit 8 × $120 = 96 000 × … = 78 115.07… →
    78 115. Listed newest first; both created at the same second: the debit (added last) first."""
    page = client.v1.invoice_items.list({"pending": True, "limit": 10})
    assert [(ii.amount, ii.quantity, ii.proration) for ii in page.data] == [
        (78_115, 8, True),
        (-48_822, 5, True),
    ]
    assert page.has_more is False
    assert {ii.invoice for ii in page.data} == {None}
    debit = page.data[0]
    assert debit.period.start == to_unix(on(3, 10))
    assert debit.period.end == to_unix(on(1, 1, 2027))
    assert debit.date == to_unix(on(3, 10))
    assert debit.discountable is False  # "Always false for prorations"
    details = debit.parent.subscription_details
    sub = client.v1.subscriptions.retrieve(details.subscription)
    assert details.subscription_item == sub["items"].data[0].id
    assert debit.pricing.price_details.product.startswith("prod_")


def test_invoiced_items_have_their_invoice(client: stripe.StripeClient) -> None:
    """``pending=false``: Bo's two prorations, taken by the 1 May renewal invoice."""
    invoiced = client.v1.invoice_items.list({"pending": False})
    assert len(invoiced.data) == 2
    (invoice_id,) = {ii.invoice for ii in invoiced.data}
    invoice = client.v1.invoices.retrieve(invoice_id)
    assert invoice.created == to_unix(on(5, 1))
    taken = {line.parent.subscription_item_details.invoice_item for line in invoice.lines.data}
    assert {ii.id for ii in invoiced.data} <= taken
    everything = client.v1.invoice_items.list()
    assert len(everything.data) == 4


def test_pages_and_created_bounds(client: stripe.StripeClient) -> None:
    first = client.v1.invoice_items.list({"pending": True, "limit": 1})
    assert first.has_more is True
    rest = client.v1.invoice_items.list(
        {"pending": True, "limit": 1, "starting_after": first.data[0].id}
    )
    assert [ii.amount for ii in rest.data] == [-48_822]
    assert rest.has_more is False
    # ``created`` filters on the item's ``date``: none was created after 1 May.
    later = client.v1.invoice_items.list({"created": {"gt": to_unix(on(5, 1))}})
    assert later.data == []
    march = client.v1.invoice_items.list({"created": {"lte": to_unix(on(3, 10))}})
    assert [ii.amount for ii in march.data] == [78_115, -48_822]


def test_retrieve_and_bad_filters(client: stripe.StripeClient) -> None:
    listed = client.v1.invoice_items.list({"pending": True, "limit": 1}).data[0]
    assert client.v1.invoice_items.retrieve(listed.id).amount == 78_115
    with pytest.raises(stripe.InvalidRequestError, match="boolean"):
        client.v1.invoice_items.list({"pending": "maybe"})  # type: ignore[typeddict-item]
    with pytest.raises(stripe.InvalidRequestError, match="customer_account"):
        client.v1.invoice_items.list({"customer_account": "acct_x"})
