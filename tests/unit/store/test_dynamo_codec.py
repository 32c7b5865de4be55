"""DynamoDB attribute values: exact numbers, every type we store, floats refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeSerializer

from onerouter.store.dynamo import deserialize, from_item, serialize, to_item

VALUES = [
    "text",
    "",
    True,
    False,
    7,
    Decimal("0.000015"),
    Decimal("-12.5"),
    b"\x00bytes",
    {"nested": {"list": [1, "two", None, Decimal("3.3")]}},
    [],
    {"a", "b"},
    {Decimal("1.5"), Decimal(2)},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_round_trip(value: object) -> None:
    back = deserialize(serialize(value))
    if isinstance(value, int) and not isinstance(value, bool):
        assert back == Decimal(value)
    else:
        assert back == value


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_same_wire_form_as_boto3(value: object) -> None:
    ours = serialize(value)
    theirs = TypeSerializer().serialize(value)
    if "SS" in ours or "NS" in ours:
        key = next(iter(ours))
        assert sorted(ours[key]) == sorted(theirs[key])
    else:
        assert ours == theirs


def test_none_attributes_are_left_out_of_items() -> None:
    item = to_item({"a": "x", "b": None})
    assert item == {"a": {"S": "x"}}
    assert from_item(item) == {"a": "x"}


@pytest.mark.parametrize("value", [0.1, object(), set()])
def test_unstorable_values_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        serialize(value)
