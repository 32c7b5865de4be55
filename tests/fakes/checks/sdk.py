"""Pydantic validation as a provider would report it: every lazily checked item checked, the
error that matters picked out of a union's many, and places named as the request names them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

Path = tuple[Any, ...]
# The fields that tell the members of the SDKs' unions apart.
_TAGS = ("type", "role")


class Invalid(Exception):
    """A refused value: where in the body (pydantic's loc, union branches and all), why, and
    the name of a missing field when that is why."""

    def __init__(
        self, path: Path, message: str, missing: str | None = None, kind: str = ""
    ) -> None:
        super().__init__(message)
        self.path, self.message, self.missing, self.kind = path, message, missing, kind

    def explain(self, body: Any) -> str:
        where = [dotted(body, self.path), self.missing or ""]
        return f"{'.'.join(w for w in where if w)}: {self.message}"


def validated(adapter: TypeAdapter[Any], value: Any, where: Path = ()) -> Any:
    """`value` validated by `adapter` (found at `where` in the body); Invalid when refused."""
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise _invalid(where, error) from None


def checked(adapter: TypeAdapter[Any], value: Any, where: Path = ()) -> Any:
    """`value` validated by `adapter`, every item of it included, as plain data."""
    return _materialized(validated(adapter, value, where), where)


def _materialized(value: Any, path: Path) -> Any:
    """`value` with every nested iterable run to its end. Pydantic checks the items of an
    `Iterable[...]` field (the SDKs' TypedDicts are full of them) only while they are iterated,
    so without this a content block of an unknown type would pass."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, dict):
        return {k: _materialized(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return value
    items: list[Any] = []
    try:
        items.extend(value)
    except ValidationError as error:
        raise _invalid(path, error) from None
    return [_materialized(item, (*path, i)) for i, item in enumerate(items)]


def _invalid(where: Path, error: ValidationError) -> Invalid:
    """The error that matters among a union's many: branches whose tag (`type`, `role`) did
    not match are left out, so what remains is about the branch the input meant."""
    errors = error.errors()
    wrong = [e["loc"][:-1] for e in errors if e["type"] == "literal_error" and _at_tag(e["loc"])]
    meant = [e for e in errors if not any(e["loc"][: len(w)] == w for w in wrong)]
    if not meant:
        first = next(e for e in errors if e["type"] == "literal_error")
        tag = f"Input tag {first['input']!r} does not match any expected tag"
        return Invalid((*where, *first["loc"]), tag)
    first = meant[0]
    if first["type"] == "missing":
        return Invalid((*where, *first["loc"][:-1]), first["msg"], str(first["loc"][-1]))
    return Invalid((*where, *first["loc"]), first["msg"], kind=first["type"])


def _at_tag(loc: tuple[Any, ...]) -> bool:
    return len(loc) >= 2 and loc[-1] in _TAGS


def dotted(body: Any, path: Path) -> str:
    """`path` as the request names it: the union branch names pydantic puts in left out."""
    shown: list[str] = []
    node = body
    for key in path:
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if not (in_list or (isinstance(node, dict) and key in node)):
            continue
        node = node[key]
        shown.append(str(key))
    return ".".join(shown)


def dropped_key(given: Any, kept: Any, path: Path = ()) -> Path | None:
    """The first key of `given` that validation dropped: a field its type does not have."""
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            if key not in kept:
                return (*path, key)
            if (found := dropped_key(value, kept[key], (*path, key))) is not None:
                return found
    elif isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        for i, (value, checked_value) in enumerate(zip(given, kept, strict=True)):
            if (found := dropped_key(value, checked_value, (*path, i))) is not None:
                return found
    return None
