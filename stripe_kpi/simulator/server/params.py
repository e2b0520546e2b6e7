"""What a list request may say: Stripe's form encoding, paging parameters and filters.

Stripe rejects what it does not know (``parameter_unknown``), checks ``limit`` is 1–100 and
parses ``created`` as an exact second or ``created[gt|gte|lt|lte]`` bounds. Per-endpoint filters
live in ``filters``; here they are looked up, validated and turned into predicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from stripe_kpi.simulator.server.errors import (
    invalid_integer,
    invalid_request,
    unknown_parameter,
)
from stripe_kpi.simulator.server.filters import SPECS, Params, Predicate, as_list, text

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
CREATED_BOUNDS = ("gt", "gte", "lt", "lte")


def parse_query(query: str) -> Params:
    """Stripe's form encoding: ``a[]=x`` / ``a[0]=x`` are arrays, ``a[b]=x`` are hashes."""
    params: Params = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        name, bracket, rest = key.partition("[")
        if not bracket:
            params[name] = value
            continue
        sub = rest[:-1] if rest.endswith("]") else rest
        slot = params.setdefault(name, [] if sub == "" or sub.isdigit() else {})
        if isinstance(slot, list):
            slot.append(value)
        elif isinstance(slot, dict):
            slot[sub] = value
        else:
            raise invalid_request(f"Invalid hash or array: {name}", param=name)
    return params


def parse_int(name: str, value: Any) -> int:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise invalid_integer(name, value)


@dataclass
class PageRequest:
    """The paging part of a list request, shared by object lists and invoice lines."""

    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None
    expand: list[str] = field(default_factory=list)


@dataclass
class ListRequest(PageRequest):
    created: dict[str, int] = field(default_factory=dict)
    predicates: list[Predicate] = field(default_factory=list)
    view: tuple[str, str] | None = None


def pop_page_params(params: Params, request: PageRequest) -> None:
    if "limit" in params:
        request.limit = parse_int("limit", params.pop("limit"))
        if request.limit < 1:
            raise invalid_request(
                "This value must be greater than or equal to 1.",
                param="limit",
                code="parameter_invalid_integer",
            )
        if request.limit > MAX_LIMIT:
            raise invalid_request(
                f"This value must be less than or equal to {MAX_LIMIT} "
                f"(it currently is '{request.limit}').",
                param="limit",
                code="parameter_invalid_integer",
            )
    for cursor in ("starting_after", "ending_before"):
        if cursor in params:
            setattr(request, cursor, text(cursor, params.pop(cursor)))
    if request.starting_after is not None and request.ending_before is not None:
        raise invalid_request(  # wording guessed
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    if "expand" in params:
        request.expand = as_list("expand", params.pop("expand"))


def parse_created(value: Any) -> dict[str, int]:
    """``created=<int>`` is an exact match; ``created[gt|gte|lt|lte]`` are bounds."""
    if not isinstance(value, dict):
        exact = parse_int("created", value)
        return {"gte": exact, "lte": exact}
    for bound in value:
        if bound not in CREATED_BOUNDS:
            raise unknown_parameter(f"created[{bound}]")
    return {bound: parse_int(f"created[{bound}]", raw) for bound, raw in value.items()}


def parse_list_request(kind: str, params: Params) -> ListRequest:
    spec = SPECS[kind]
    params = dict(params)
    request = ListRequest()
    pop_page_params(params, request)
    if "created" in params:
        request.created = parse_created(params.pop("created"))
    if all(name in params for name in spec.exclusive) and spec.exclusive:
        # Stripe's docs: "You may pass either type or types, but not both" (error wording guessed).
        raise invalid_request(
            "You may pass either type or types, but not both.", param=spec.exclusive[1]
        )
    for name, value in params.items():
        builder = spec.filters.get(name)
        if builder is None:
            if name in spec.unmodelled:
                raise invalid_request(
                    f"The Stripe simulator does not implement the parameter: {name}", param=name
                )
            raise unknown_parameter(name)
        request.predicates.append(builder(name, value))
        indexable = isinstance(value, str) and "*" not in value
        if name in spec.indexed and indexable and request.view is None:
            request.view = (name, value)
    if spec.default is not None and (default := spec.default(params)) is not None:
        request.predicates.append(default)
    return request
