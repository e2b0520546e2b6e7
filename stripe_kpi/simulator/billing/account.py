"""``BillingAccount``: a scripted Stripe Billing account with a clock.

A script says what customers and the merchant do (subscribe, change, cancel, fail to pay…) at
given times; the account issues what Stripe would issue for that history: subscriptions and
their items, invoices with every line, pending invoice items, discounts, events. ``snapshot()``
hands the result to the simulated HTTP server as a ``StripeData``.

Times are timezone-aware ``datetime``s at this interface (unix seconds inside). Calls must come
in time order: each one first runs whatever Stripe would have done on its own up to that moment.
Objects are returned as the live Stripe dicts: read them, change them only through the account.

Over 400 lines on purpose: creation (catalog, customers, subscriptions) is the scripting API a
test reads first, one method per Stripe API call, kept together with its argument checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from stripe_kpi.simulator import objects
from stripe_kpi.simulator.billing.dunning import DunningPolicy
from stripe_kpi.simulator.billing.ledger import MAX_ITEMS, Applied, StripeDict, SubState
from stripe_kpi.simulator.billing.renewals import TRIAL_NOTICE
from stripe_kpi.simulator.billing.trials import TrialEndBehavior, Trials
from stripe_kpi.simulator.clock import DAY, add_months, from_unix, period_boundary, to_unix
from stripe_kpi.simulator.data import StripeData
from stripe_kpi.simulator.events import frozen_copy, no_cycle_collector

Ref = StripeDict | str
Tier = tuple[int | None, int | None, int | None]  # (up_to, unit_amount, flat_amount)


class BillingAccount(Trials):
    """One Stripe account in one currency (customers may use others), driven by a script."""

    def __init__(
        self,
        start: datetime,
        currency: str = "usd",
        seed: int = 0,
        livemode: bool = False,
        *,
        name: str = "Simulated SaaS",
        country: str = "US",
        dunning: DunningPolicy | None = None,
        record_events_from: datetime | None = None,
    ) -> None:
        """``record_events_from`` skips building events before that time (Stripe keeps 30 days;
        a generator that knows its end date sets it to save time)."""
        super().__init__(
            start=to_unix(start),
            currency=currency,
            seed=seed,
            livemode=livemode,
            name=name,
            country=country,
            dunning=dunning or DunningPolicy(),
            record_events_from=None if record_events_from is None else to_unix(record_events_from),
        )

    @property
    def now(self) -> datetime:
        return from_unix(self.clock)

    def advance(self, to: datetime) -> None:
        """Let time pass: renewals, trial ends, retries, scheduled cancellations up to ``to``."""
        self.run_until(to_unix(to))

    # -- catalog -----------------------------------------------------------------------------

    def create_customer(
        self,
        name: str | None,
        email: str | None,
        at: datetime | None = None,
        *,
        currency: str | None = None,
        country: str | None = None,
        metadata: dict[str, str] | None = None,
        payment_method: bool = True,
    ) -> StripeDict:
        """A customer with a card on file (``payment_method=False``: none yet, as after a
        checkout with ``payment_method_collection="if_required"`` for a free trial; see
        ``trials.add_payment_method``). ``currency`` is set by their first subscription."""
        with self._api_call(at) as t:
            customer_id = self.ids.new("cus")
            customer = objects.customer(
                id=customer_id,
                created=t,
                livemode=self.livemode,
                name=name,
                email=email,
                invoice_prefix=customer_id[4:12].upper(),
                country=country,
                default_payment_method=self.ids.new("pm") if payment_method else None,
                currency=currency,
                metadata=metadata,
            )
            self.customers[customer_id] = customer
            self.emit("customer.created", customer, t)
            return customer

    def create_product(self, name: str, at: datetime | None = None) -> StripeDict:
        with self._api_call(at) as t:
            product = objects.product(
                id=self.ids.new("prod"), name=name, created=t, livemode=self.livemode
            )
            self.products[product["id"]] = product
            self.emit("product.created", product, t)
            return product

    def create_price(
        self,
        unit_amount: int | None = None,
        interval: str = "month",
        interval_count: int = 1,
        currency: str | None = None,
        product: Ref = "Product",
        *,
        usage_type: Literal["licensed", "metered"] = "licensed",
        tax_behavior: Literal["exclusive", "inclusive", "unspecified"] = "unspecified",
        billing_scheme: Literal["per_unit", "tiered"] = "per_unit",
        tiers: Sequence[Tier] | None = None,
        tiers_mode: Literal["graduated", "volume"] | None = None,
        nickname: str | None = None,
        currency_options: Mapping[str, int | Sequence[Tier]] | None = None,
        at: datetime | None = None,
    ) -> StripeDict:
        """A recurring price. ``product`` is a product, its id, or a name (created if new).

        ``currency_options`` maps another currency to what the price charges in it: a unit
        amount (per-unit prices) or tiers (tiered prices, same ``tiers_mode``).

        Metered prices bill usage reported to a billing meter (``recurring.meter``), since the
        legacy usage records are gone from the API.
        """
        if (billing_scheme == "tiered") != (tiers is not None):
            raise ValueError("tiers go with billing_scheme='tiered', and only with it")
        if billing_scheme == "per_unit" and unit_amount is None:
            raise ValueError("a per_unit price needs unit_amount")
        prod = self._product(product, at)
        with self._api_call(at) as t:
            price = objects.price(
                id=self.ids.new("price"),
                product=prod["id"],
                created=t,
                livemode=self.livemode,
                currency=currency or self.currency,
                unit_amount=None if billing_scheme == "tiered" else unit_amount,
                interval=interval,
                interval_count=interval_count,
                usage_type=usage_type,
                meter=self.ids.new("mtr") if usage_type == "metered" else None,
                billing_scheme=billing_scheme,
                tiers=None
                if tiers is None
                else [
                    objects.price_tier(up_to=u, unit_amount=a, flat_amount=f) for u, a, f in tiers
                ],
                tiers_mode=tiers_mode or ("graduated" if tiers else None),
                tax_behavior=tax_behavior,
                nickname=nickname,
            )
            if currency_options:
                price["currency_options"] = {
                    ccy: objects.currency_option(
                        unit_amount=None if billing_scheme == "tiered" else option,  # type: ignore[arg-type]
                        tiers=[objects.price_tier(up_to=u, unit_amount=a, flat_amount=f)
                               for u, a, f in option]  # type: ignore[union-attr]
                        if billing_scheme == "tiered"
                        else None,
                        tax_behavior=tax_behavior,
                    )
                    for ccy, option in currency_options.items()
                }  # fmt: skip
            self.prices[price["id"]] = price
            self.emit("price.created", price, t)
            if prod["default_price"] is None:
                before = self.log.before(prod, t)
                prod["default_price"] = price["id"]
                prod["updated"] = t
                self.emit("product.updated", prod, t, before)
            return price

    def rename_price(self, price: Ref, nickname: str | None, at: datetime | None = None) -> None:
        """``POST /v1/prices/{id}`` with a new ``nickname`` (``price.updated``): the plan
        segment of every item on the price changes name."""
        with self._api_call(at) as t:
            obj = self._get(self.prices, price)
            before = self.log.before(obj, t)
            obj["nickname"] = nickname
            self.emit("price.updated", obj, t, before)

    def _product(self, product: Ref, at: datetime | None) -> StripeDict:
        if isinstance(product, dict):
            return product
        if product in self.products:
            return self.products[product]
        for existing in self.products.values():
            if existing["name"] == product:
                return existing
        return self.create_product(product, at)

    def create_coupon(
        self,
        percent_off: float | None = None,
        amount_off: int | None = None,
        currency: str | None = None,
        duration: Literal["forever", "once", "repeating"] = "once",
        duration_in_months: int | None = None,
        *,
        id: str | None = None,
        name: str | None = None,
        applies_to: Sequence[Ref] | None = None,
        at: datetime | None = None,
    ) -> StripeDict:
        """A coupon. ``applies_to`` limits it to those products (products, ids or names): it
        then discounts only the invoice lines of their prices (see ``invoices.apply_discount``).
        """
        if (percent_off is None) == (amount_off is None):
            raise ValueError("a coupon has exactly one of percent_off and amount_off")
        if (duration == "repeating") != (duration_in_months is not None):
            raise ValueError("duration_in_months goes with duration='repeating', and only with it")
        if applies_to is not None and not applies_to:
            raise ValueError("applies_to names at least one product (None: every product)")
        products = None if applies_to is None else [self._product(p, at)["id"] for p in applies_to]
        with self._api_call(at) as t:
            coupon = objects.coupon(
                id=id or self.ids.new("coupon")[8:16],
                created=t,
                livemode=self.livemode,
                duration=duration,
                percent_off=percent_off,
                amount_off=amount_off,
                currency=(currency or self.currency) if amount_off is not None else None,
                duration_in_months=duration_in_months,
                name=name,
                applies_to=products,
            )
            self.coupons[coupon["id"]] = coupon
            self.emit("coupon.created", coupon, t)
            return coupon

    def create_tax_rate(
        self,
        percentage: float,
        inclusive: bool = False,
        *,
        display_name: str = "VAT",
        country: str | None = None,
        at: datetime | None = None,
    ) -> StripeDict:
        """A manual tax rate: ``inclusive`` rates are inside the price, exclusive ones added."""
        with self._api_call(at) as t:
            rate = objects.tax_rate(
                id=self.ids.new("txr"),
                created=t,
                livemode=self.livemode,
                display_name=display_name,
                percentage=percentage,
                inclusive=inclusive,
                country=country,
            )
            self.tax_rates[rate["id"]] = rate
            self.emit("tax_rate.created", rate, t)
            return rate

    # -- subscriptions -----------------------------------------------------------------------

    def subscribe(
        self,
        customer: Ref,
        items: Sequence[tuple[Ref, int | None]],
        at: datetime | None = None,
        *,
        trial_days: int | None = None,
        coupon: Ref | None = None,
        coupons: Sequence[Ref] = (),
        item_coupons: Mapping[str, Sequence[Ref]] | None = None,
        currency: str | None = None,
        tax_rates: Sequence[Ref] = (),
        collection_method: Literal["charge_automatically", "send_invoice"] = "charge_automatically",
        days_until_due: int | None = None,
        metadata: dict[str, str] | None = None,
        trial_end_behavior: TrialEndBehavior = "create_invoice",
    ) -> StripeDict:
        """Start a subscription: billed now in advance, or a trial with a $0 first invoice.

        ``trial_end_behavior`` is ``trial_settings.end_behavior.missing_payment_method``: what
        the trial's end does when the customer still has no payment method (``trials``). A
        customer without one can only start a trial whose first invoice is $0: anything else
        would be charged at once and fail (Stripe leaves such a subscription ``incomplete``,
        which is not modelled).

        Every price must share one billing interval and the customer's currency (the first
        subscription sets it). Metered items take ``None`` as quantity. At most 20 items, as
        Stripe allows ("A list of up to 20 subscription items", docs.stripe.com/api/subscriptions/
        create); past 10 the server pages them (``/v1/subscription_items``).

        ``currency`` (default: the first price's) bills the subscription in a currency its
        prices offer through ``currency_options`` (a USD price with a EUR option, billed in EUR
        at the option's amounts). Discounts stack: ``coupon`` then ``coupons`` on the
        subscription (``discounts``, in that order), and ``item_coupons`` (price id → coupons)
        on the items of those prices (each item's ``discounts``).
        """
        cus = self._get(self.customers, customer)
        prices = [(self._get(self.prices, p), q) for p, q in items]
        if not 1 <= len(prices) <= MAX_ITEMS:
            raise ValueError(f"a subscription has 1 to {MAX_ITEMS} items")
        rates = [self._get(self.tax_rates, r) for r in tax_rates]
        first = prices[0][0]["recurring"]
        currency = currency or prices[0][0]["currency"]
        for price, quantity in prices:
            self._check_price(price, quantity, first, currency)
        stack = [self._get(self.coupons, c) for c in ([coupon] if coupon else []) + list(coupons)]
        on_items = {
            self._get(self.prices, p)["id"]: [self._get(self.coupons, c) for c in refs]
            for p, refs in (item_coupons or {}).items()
        }
        if not self.has_payment_method(cus["id"]) and (
            not trial_days or self.pending.get(cus["id"])
        ):
            raise ValueError(f"{cus['id']} has no payment method: only a $0 trial can start")
        with self._api_call(at) as t:
            self._set_currency(cus, currency, t)
            sub_id, invoice_id = self.ids.new("sub"), self.ids.new("in")
            trial_end = t + trial_days * DAY if trial_days else None
            anchor = trial_end or t
            end = trial_end or period_boundary(
                anchor, first["interval"], first["interval_count"], 1
            )
            sub_items = [
                objects.subscription_item(
                    id=self.ids.new("si"),
                    subscription=sub_id,
                    price=price,
                    quantity=quantity,
                    created=t,
                    current_period_start=t,
                    current_period_end=end,
                )
                for price, quantity in prices
            ]
            sub = objects.subscription(
                id=sub_id,
                customer=cus["id"],
                created=t,
                livemode=self.livemode,
                currency=currency,
                items=sub_items,
                status="trialing" if trial_end else "active",
                billing_cycle_anchor=anchor,
                collection_method=collection_method,
                days_until_due=(days_until_due or 30)
                if collection_method == "send_invoice"
                else None,
                default_tax_rates=rates,
                trial_start=t if trial_end else None,
                trial_end=trial_end,
                latest_invoice=invoice_id,
                metadata=metadata,
                missing_payment_method=trial_end_behavior,
            )
            st = SubState(
                obj=sub,
                anchor=anchor,
                period_n=-1 if trial_end else 0,
                interval=first["interval"],
                interval_count=first["interval_count"],
                tax_rates=rates,
            )
            self.subscriptions[sub_id] = sub
            self.subs[sub_id] = st
            for found in stack:
                self._attach_coupon(st, found, t)
            for si in sub_items:
                for found in on_items.get(si["price"]["id"], ()):
                    self._attach_coupon(st, found, t, item=si)
            self.emit("customer.subscription.created", sub, t)
            for applied in st.applied:
                self.emit("customer.discount.created", applied.discount, t)
            self.issue_invoice(
                invoice_id,
                cus["id"],
                st,
                t,
                billing_reason="subscription_create",
                lines=self.item_lines(invoice_id, st, t, end, trial=trial_end is not None),
                period=(t, t),
                finalize="now",
                currency=currency,
            )
            self.set_period(st, t, end)
            if trial_end is not None and trial_end - TRIAL_NOTICE > t:
                self.schedule(trial_end - TRIAL_NOTICE, "notice", sub_id)
            return sub

    def _attach_coupon(
        self, st: SubState, coupon: StripeDict, t: int, item: StripeDict | None = None
    ) -> None:
        """A discount of ``coupon`` on the subscription, or on one of its items (``item``): the
        Discount names both the subscription and, for an item's, the item."""
        if coupon["amount_off"] is not None and coupon["currency"] != st.obj["currency"]:
            raise ValueError("an amount_off coupon applies only in its own currency")
        months = coupon["duration_in_months"]
        discount = objects.discount(
            id=self.ids.new("di"),
            coupon_id=coupon["id"],
            customer=st.obj["customer"],
            subscription=st.id,
            subscription_item=item["id"] if item else None,
            start=t,
            end=add_months(t, months) if coupon["duration"] == "repeating" else None,
        )
        coupon["times_redeemed"] += 1
        self.discounts[discount["id"]] = discount
        st.applied.append(Applied(discount, coupon, item["id"] if item else None))
        holder = st.obj if item is None else item
        holder["discounts"] = [*holder["discounts"], discount["id"]]
        if discount["end"] is not None:
            self.schedule(discount["end"], "discount_end", discount["id"])

    def _check_price(
        self, price: StripeDict, quantity: int | None, recurring: StripeDict, currency: str
    ) -> None:
        same = (price["recurring"]["interval"], price["recurring"]["interval_count"]) == (
            recurring["interval"],
            recurring["interval_count"],
        )
        if not same:
            raise ValueError("all items of a subscription share one billing interval")
        if price["currency"] != currency and currency not in (price["currency_options"] or {}):
            raise ValueError(f"price {price['id']} bills no {currency}: no such currency option")
        metered = price["recurring"]["usage_type"] == "metered"
        if metered != (quantity is None):
            raise ValueError("metered items take quantity None; licensed items a quantity")

    def _set_currency(self, customer: StripeDict, currency: str, t: int) -> None:
        if customer["currency"] is None:
            before = self.log.before(customer, t)
            customer["currency"] = currency
            self.emit("customer.updated", customer, t, before)
        elif customer["currency"] != currency:
            raise ValueError(
                f"customer {customer['id']} pays in {customer['currency']}, not {currency}"
            )

    def snapshot(self, *, copy: bool = True) -> StripeData:
        """Everything Stripe would show now. With ``copy`` (the default) later calls on the
        account do not change it; ``copy=False`` shares the live dicts (faster for big
        benchmarks that stop scripting). Events are immutable snapshots: always shared.

        Besides the list endpoints, ``objects`` holds ``discounts`` and ``disputes`` so that the
        server can expand ids that point at them. Deleted customers show as their stub.
        """
        live = {
            "customers": self.shown_customers(),
            "products": self.products,
            "prices": self.prices,
            "coupons": self.coupons,
            "tax_rates": self.tax_rates,
            "subscriptions": self.subscriptions,
            "subscription_schedules": self.schedules,
            "invoices": self.invoices,
            "discounts": self.discounts,
            "invoiceitems": self.invoiceitems,
            "disputes": self.disputes,
            "credit_notes": self.credit_notes,
        }
        state = {"account": self.account, "objects": {k: dict(v) for k, v in live.items()}}
        if copy:
            with no_cycle_collector():
                state = frozen_copy(state)
        state["objects"]["events"] = {e["id"]: e for e in self.log.retained(self.clock)}
        return StripeData(account=state["account"], now=self.clock, objects=state["objects"])
