"""Check a JSON dict against the type annotations of a ``stripe`` class.

The installed ``stripe`` package is generated from Stripe's OpenAPI spec for the API version it
pins, so its annotations are the reference for the shape of every object. The simulator must
produce that shape by hand (it never reads these annotations), and this checker is what proves
it did: field names exist, required fields are present, and every value has the annotated type,
recursively through nested classes, lists, ``ListObject`` and expandable fields.

stripe imports the classes it refers to only under ``if TYPE_CHECKING:``; to resolve those forward
references we parse the module, run those imports into a copy of its namespace and hand that to
``typing.get_type_hints``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal, Union

from stripe._list_object import ListObject
from stripe._object_classes import OBJECT_CLASSES
from stripe._stripe_object import StripeObject, UntypedStripeObject

__all__ = [
    "absent_when_unset",
    "check_served",
    "check_shape",
    "class_for_object",
    "field_types",
    "omission_errors",
]


def _type_checking_imports(module: types.ModuleType) -> dict[str, Any]:
    """Run the imports a module hides under ``if TYPE_CHECKING:`` and return what they bind."""
    tree = ast.parse(inspect.getsource(module))
    namespace: dict[str, Any] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                code = compile(ast.Module(body=[stmt], type_ignores=[]), module.__name__, "exec")
                exec(code, namespace)
    namespace.pop("__builtins__", None)
    return namespace


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


@functools.cache
def _module_globals(module_name: str) -> dict[str, Any]:
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    namespace = dict(vars(module))
    namespace.update(_type_checking_imports(module))
    return namespace


def _enclosing_namespace(cls: type) -> dict[str, Any]:
    """Names visible inside a nested class: its own and every enclosing class's attributes."""
    module = sys.modules[cls.__module__]
    namespace: dict[str, Any] = {}
    outer: Any = module
    for part in cls.__qualname__.split("."):
        outer = getattr(outer, part)
        namespace.update(vars(outer))
    return namespace


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The JSON fields of a stripe class and their annotated types (private names, ClassVars out).

    Keys are the JSON names: a class's ``_field_remappings`` (``from_`` → ``from``) is applied.
    """
    hints = typing.get_type_hints(
        cls, globalns=_module_globals(cls.__module__), localns=_enclosing_namespace(cls)
    )
    remap: dict[str, str] = getattr(cls, "_field_remappings", {})
    fields: dict[str, Any] = {}
    for name, hint in hints.items():
        if name.startswith("_") or name == "OBJECT_NAME" or typing.get_origin(hint) is ClassVar:
            continue
        fields[remap.get(name, name)] = hint
    return fields


def class_for_object(object_name: str) -> type | None:
    """The stripe class for an ``object`` value such as ``"invoice"`` (None when unknown)."""
    entry = OBJECT_CLASSES.get(object_name)
    if entry is None:
        return None
    module_name, class_name = entry
    return getattr(importlib.import_module(module_name), class_name)


def _is_optional(hint: Any) -> bool:
    return _is_union(hint) and type(None) in typing.get_args(hint)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (Union, types.UnionType)


def check_shape(
    obj: Any,
    cls: type,
    path: str = "",
    *,
    require_optional: bool = False,
    omitted: Mapping[str, Iterable[str]] | None = None,
) -> list[str]:
    """Errors (empty when conforming) of ``obj`` against stripe class ``cls``, recursively.

    A field that is not annotated is an error; an annotated non-Optional field must be present.
    With ``require_optional``, Optional fields must be present too (as ``null`` when unset): Stripe
    returns nullable fields explicitly, and only a few "includable" fields are ever absent; those
    errors read ``absent optional field`` so a caller can allow the known ones.

    ``omitted`` (object kind → dotted keys, as ``simulator/objects/omitted.py``) names the keys
    Stripe leaves out when unset: sending one as ``null`` is an error (``null where Stripe omits
    the key``), in ``obj`` and every object embedded in it. The annotations cannot say this (the
    SDK types both kinds of field ``Optional``), so it is checked apart: :func:`omission_errors`.
    """
    if not isinstance(obj, dict):
        return [f"{path or '<root>'}: expected object for {cls.__name__}, got {_kind(obj)}"]
    fields = field_types(cls)
    errors: list[str] = [] if omitted is None else omission_errors(obj, omitted, path)
    for key in obj:
        if key not in fields:
            errors.append(f"{_join(path, key)}: unknown field for {cls.__name__}")
    for key, hint in fields.items():
        where = _join(path, key)
        if key not in obj:
            if not _is_optional(hint):
                errors.append(f"{where}: missing required field of {cls.__name__}")
            elif require_optional and key != "deleted":
                errors.append(f"{where}: absent optional field of {cls.__name__}")
            continue
        errors.extend(_check_value(obj[key], hint, where, require_optional))
    if not errors and issubclass(cls, _event_class()):
        errors.extend(_check_event_payload(obj, path, require_optional))
    return errors


def omission_errors(value: Any, omitted: Mapping[str, Iterable[str]], path: str = "") -> list[str]:
    """The keys of ``omitted`` (kind → dotted keys) that ``value`` sends as ``null``, at any depth:
    each embedded object (an item, a line, an event's payload, an expanded customer) is held to
    the entry of its own ``object``."""
    errors: list[str] = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            errors.extend(omission_errors(item, omitted, f"{path}[{i}]"))
        return errors
    if not isinstance(value, dict):
        return errors
    kind = value.get("object")
    for dotted in omitted.get(kind, ()) if isinstance(kind, str) else ():
        *parents, last = dotted.split(".")
        holder: Any = value
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and last in holder and holder[last] is None:
            errors.append(f"{_join(path, dotted)}: null where Stripe omits the key of {kind}")
    for key, item in value.items():
        errors.extend(omission_errors(item, omitted, _join(path, key)))
    return errors


def absent_when_unset(omitted: Mapping[str, Iterable[str]]) -> set[tuple[str, str]]:
    """``(class name, field)`` for each key of ``omitted``, as ``check_shape`` names an ``absent
    optional field``: what a caller checking served objects with ``require_optional`` allows.
    Raises ``ValueError`` for a kind or key the SDK's annotations do not have (a typo in the
    table), or a key they do not annotate Optional (Stripe could not omit it)."""
    pairs: set[tuple[str, str]] = set()
    for kind, keys in omitted.items():
        root = class_for_object(kind)
        if root is None:
            raise ValueError(f"{kind}: not an object kind of the stripe package")
        for dotted in keys:
            cls, *parents, last = [root, *dotted.split(".")]
            for part in parents:
                cls = _object_class(field_types(cls).get(part), f"{kind}.{dotted}")
            hint = field_types(cls).get(last)
            if hint is None or not _is_optional(hint):
                raise ValueError(f"{kind}.{dotted}: not an Optional field of {cls.__name__}")
            pairs.add((cls.__name__, last))
    return pairs


def check_served(
    obj: Any,
    cls: type,
    path: str = "",
    *,
    omitted: Mapping[str, Iterable[str]],
    may_be_absent: Iterable[tuple[str, str]] = (),
) -> list[str]:
    """``check_shape`` of what a server sends, Optional fields required: a key of ``omitted``
    may be absent but never ``null``, and so may the ``(class name, field)`` pairs of
    ``may_be_absent`` (includable fields withheld)."""
    allowed = absent_when_unset(omitted) | set(may_be_absent)
    errors = []
    for error in check_shape(obj, cls, path, require_optional=True, omitted=omitted):
        where, _, what = error.partition(": ")
        absent = what.startswith("absent optional field of ")
        if absent and (what.rsplit(" ", 1)[1], where.rsplit(".", 1)[-1]) in allowed:
            continue
        errors.append(error)
    return errors


def _object_class(hint: Any, where: str) -> type:
    """The stripe class a field holds (through Optional and expandable unions)."""
    if isinstance(hint, type) and issubclass(hint, StripeObject):
        return hint
    for arg in typing.get_args(hint) if hint is not None else ():
        try:
            return _object_class(arg, where)
        except ValueError:
            continue
    raise ValueError(f"{where}: no object to look inside at {hint!r}")


@functools.cache
def _event_class() -> type:
    from stripe._event import Event

    return Event


def _check_event_payload(event: dict[str, Any], path: str, require_optional: bool) -> list[str]:
    """An event's ``data.object`` is an untyped dict to the SDK; check it as the object it is."""
    payload = event["data"]["object"]
    cls = class_for_object(payload.get("object", ""))
    where = _join(_join(path, "data"), "object")
    if cls is None:
        return [f"{where}: unknown object kind {payload.get('object')!r}"]
    return check_shape(payload, cls, where, require_optional=require_optional)


def _check_value(value: Any, hint: Any, path: str, require_optional: bool) -> list[str]:
    if hint is Any:
        return []
    if hint is type(None):
        return [] if value is None else [f"{path}: expected null, got {_kind(value)}"]
    if _is_union(hint):
        return _check_union(value, typing.get_args(hint), path, require_optional)
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value in allowed and type(value) in {type(a) for a in allowed}:
            return []
        return [f"{path}: {value!r} is not one of {list(allowed)[:8]}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected list, got {_kind(value)}"]
        (item_hint,) = typing.get_args(hint)
        errors: list[str] = []
        for i, item in enumerate(value):
            errors.extend(_check_value(item, item_hint, f"{path}[{i}]", require_optional))
        return errors
    if origin is dict:
        return _check_mapping(value, typing.get_args(hint)[1], path, require_optional)
    if isinstance(origin, type) and issubclass(origin, UntypedStripeObject):
        return _check_mapping(value, typing.get_args(hint)[0], path, require_optional)
    if isinstance(origin, type) and issubclass(origin, ListObject):
        return _check_list_object(value, typing.get_args(hint)[0], path, require_optional)
    if isinstance(hint, type):
        return _check_class(value, hint, path, require_optional)
    return [f"{path}: cannot check annotation {hint!r}"]


def _check_union(value: Any, options: tuple[Any, ...], path: str, req: bool) -> list[str]:
    best: list[str] | None = None
    for option in options:
        errors = _check_value(value, option, path, req)
        if not errors:
            return []
        # Report the closest branch: the one whose errors are about nested fields.
        if best is None or (isinstance(value, dict) and _is_object_hint(option)):
            best = errors
    assert best is not None
    return best


def _is_object_hint(hint: Any) -> bool:
    target = typing.get_origin(hint) or hint
    return isinstance(target, type) and issubclass(target, StripeObject)


def _check_mapping(value: Any, value_hint: Any, path: str, req: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected object, got {_kind(value)}"]
    errors: list[str] = []
    for key, item in value.items():
        if not isinstance(key, str):
            errors.append(f"{path}: key {key!r} is not a string")
        errors.extend(_check_value(item, value_hint, _join(path, str(key)), req))
    return errors


def _check_list_object(value: Any, item_hint: Any, path: str, req: bool) -> list[str]:
    """A list object is ``{"object": "list", "data": [...], "has_more": bool, "url": str}``.

    An embedded list (an invoice's ``lines``, a subscription's ``items``) also says how long it
    is: ``total_count``, an int. ``ListObject`` does not annotate it, but Stripe sends it where it
    cuts a sub-list at its first 10 entries ("TotalCount exceeds … Data.Count() (also
    .HasMore=true)", stripe-dotnet#381), so it is allowed and checked here.
    """
    if not isinstance(value, dict):
        return [f"{path}: expected list object, got {_kind(value)}"]
    errors: list[str] = []
    expected = {"object", "data", "has_more", "url"}
    for key in value.keys() - expected - {"total_count"}:
        errors.append(f"{_join(path, key)}: unknown field for a list object")
    for key in sorted(expected - value.keys()):
        errors.append(f"{_join(path, key)}: missing required field of a list object")
    if value.get("object", "list") != "list":
        errors.append(f"{path}.object: expected 'list', got {value['object']!r}")
    if "has_more" in value and not isinstance(value["has_more"], bool):
        errors.append(f"{path}.has_more: expected bool, got {_kind(value['has_more'])}")
    count = value.get("total_count", 0)
    if not isinstance(count, int) or isinstance(count, bool):
        errors.append(f"{path}.total_count: expected int, got {_kind(count)}")
    if "url" in value and not isinstance(value["url"], str):
        errors.append(f"{path}.url: expected string, got {_kind(value['url'])}")
    if "data" in value:
        errors.extend(_check_value(value["data"], list[item_hint], f"{path}.data", req))
    return errors


def _check_class(value: Any, cls: type, path: str, req: bool) -> list[str]:
    if cls is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected bool, got {_kind(value)}"]
    if cls is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected int, got {_kind(value)}"]
    if cls is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected number, got {_kind(value)}"]
    if cls is str:
        return [] if isinstance(value, str) else [f"{path}: expected string, got {_kind(value)}"]
    if cls is Decimal:
        return _check_decimal(value, path)
    if issubclass(cls, StripeObject):
        return check_shape(value, cls, path, require_optional=req)
    return [f"{path}: cannot check class {cls!r}"]


def _check_decimal(value: Any, path: str) -> list[str]:
    """Stripe sends ``*_decimal`` fields as strings of digits ("5000.5")."""
    if not isinstance(value, str):
        return [f"{path}: expected decimal string, got {_kind(value)}"]
    try:
        Decimal(value)
    except InvalidOperation:
        return [f"{path}: {value!r} is not a decimal string"]
    return []


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
