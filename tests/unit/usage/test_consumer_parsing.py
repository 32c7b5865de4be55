"""The consumer's per-message phase and its write plan, without AWS."""

from __future__ import annotations

import dataclasses
import secrets
from decimal import Decimal
from typing import Any

import orjson
import pytest

from onerouter.store.accounts import AccountsRepository
from onerouter.store.keys import KeysRepository
from onerouter.store.ledger import LedgerRepository
from onerouter.store.usage import ActivityRepository, UsageRepository, row_key
from onerouter.usage.consumer import MalformedEvent, parse_event
from onerouter.usage.events import UsageEvent
from onerouter.usage.writer import UsageWriter, _Usage, usage_record
from tests.usage_events import usage_event

CANARY = "CANARY-" + secrets.token_hex(8)

# Every field an event may carry, and why none of them can hold what a caller wrote: each is
# an id, a catalog name, a count, an amount, a timestamp or a closed set of words. A new field
# must be added here, after asking that question.
METADATA_FIELDS = {
    "generation_id": "ours",
    "account_id": "ours",
    "key_id": "ours",
    "key_hash": "ours",
    "model": "catalog id of the model that served",
    "provider": "catalog provider name",
    "provider_model": "catalog: the provider's model name",
    "created_at": "timestamp",
    "prompt_tokens": "count",
    "completion_tokens": "count",
    "cached_tokens": "count",
    "cache_write_tokens": "count",
    "reasoning_tokens": "count",
    "images": "count",
    "cost": "amount",
    "cost_details": "amounts by fixed names",
    "latency_ms": "count",
    "ttft_ms": "count",
    "status": "ok | error | cancelled",
    "streamed": "bool",
    "cache": "HIT | MISS",
    "finish_reason": "the provider's stop reason, a short word",
    "estimated": "bool",
    "failed_endpoints": "(catalog model id, provider id) pairs",
    "is_byok": "bool",
    "version": "format version",
}


def _body(**changes: Any) -> bytes:
    values = orjson.loads(usage_event("acct_1").to_message())
    values.update(changes)
    return orjson.dumps(values)


def test_usage_events_carry_metadata_only() -> None:
    assert {f.name for f in dataclasses.fields(UsageEvent)} == set(METADATA_FIELDS)


def test_a_good_event_round_trips_exactly() -> None:
    event = usage_event("acct_1", cost="0.0000153")
    parsed = parse_event(event.to_message())
    assert parsed == event
    fell_back = dataclasses.replace(event, failed_endpoints=(("test/chat", "primary"),))
    assert parse_event(fell_back.to_message()) == fell_back
    assert parsed.cost == Decimal("0.0000153")


@pytest.mark.parametrize(
    "changes",
    [
        {"prompt": CANARY},  # a field no event has: never written anywhere
        {"version": 99},
        {"cost": "-1"},
        {"cost": "NaN"},
        {"cost": CANARY},
        {"cost": 0.1},
        {"cost": "1E+40"},
        {"prompt_tokens": -1},
        {"prompt_tokens": "12"},
        {"prompt_tokens": True},
        {"completion_tokens": 10**17},
        {"ttft_ms": 1.5},
        {"account_id": ""},
        {"account_id": 12},
        {"model": "x" * 300},
        {"model": "line\nbreak"},
        {"created_at": CANARY},
        {"created_at": "2026-11-20T12:00:00"},  # no zone
        {"created_at": "2026-11-20T12:00:00+02:00"},
        {"created_at": "20261120T120000Z"},
        {"status": CANARY},
        {"cache": "MAYBE"},
        {"streamed": "yes"},
        {"finish_reason": CANARY + " " * 80},
        {"cost_details": {"prompt_cost": "-0.1"}},
        {"cost_details": [CANARY]},
    ],
)
def test_a_malformed_event_is_refused_without_quoting_it(changes: dict[str, Any]) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_event(_body(**changes))
    assert CANARY not in str(caught.value)


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b"null", CANARY.encode(), b"{}"])
def test_a_message_that_is_not_an_event_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_event(body)
    assert CANARY not in str(caught.value)


def test_usage_record_is_the_event_without_the_key_hash() -> None:
    event = usage_event("acct_1")
    record = usage_record(event, "usage#" + event.generation_id)
    assert "key_hash" not in record
    assert "version" not in record
    assert record["ledger_entry"] == "usage#" + event.generation_id
    assert record["cost"] == event.cost


def _item_size(value: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings as UTF-8, numbers about one
    byte per two digits plus one, maps and lists 3 bytes plus one per element)."""

    def size(v: dict[str, Any]) -> int:
        ((kind, inner),) = v.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return (len(inner.replace("-", "").replace(".", "").lstrip("0")) + 1) // 2 + 1
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + size(x) + 1 for k, x in inner.items())
        raise AssertionError(kind)

    return sum(len(k.encode()) + size(v) for k, v in value.items())


def test_a_usage_record_fits_one_write_unit() -> None:
    """Write costs in the README count one record as one 1 KB unit (two, transactional)."""
    event = usage_event(
        "acct_" + "f" * 16,
        "key_" + "f" * 16,
        cost="0.0123456789",
        model="meta-llama/llama-3.3-70b-instruct",
        provider="fireworks",
        provider_model="accounts/fireworks/models/llama-v3p3-70b-instruct",
        cost_details={
            name: Decimal("0.0012345678")
            for name in (
                "prompt_cost",
                "completion_cost",
                "prompt_cache_read_cost",
                "prompt_cache_write_cost",
                "reasoning_cost",
                "request_cost",
                "image_cost",
            )
        },
        generation_id="gen-" + "f" * 31,
        finish_reason="tool_calls",
    )
    usage = UsageRepository("t")
    item = usage.put_item(usage_record(event, "usage#" + event.generation_id))["Put"]["Item"]
    assert _item_size(item) <= 1024


def test_activity_row_keys_sort_by_day_and_never_collide() -> None:
    assert row_key("2026-11-20", "a/b", "p", "k") == "2026-11-20#a/b#p#k"
    assert row_key("2026-11-20", "a#b", "c", "k") != row_key("2026-11-20", "a", "b#c", "k")
    assert row_key("2026-11-20", "a%23", "c", "k") != row_key("2026-11-20", "a#", "c", "k")


def _writer(max_items: int) -> UsageWriter:
    accounts = AccountsRepository("accounts", dynamodb=object())
    return UsageWriter(
        accounts,
        KeysRepository("keys", dynamodb=object()),
        LedgerRepository("ledger", accounts, dynamodb=object()),
        UsageRepository("usage", dynamodb=object()),
        ActivityRepository("activity", dynamodb=object()),
        max_items=max_items,
    )


def test_groups_split_at_the_transaction_item_limit() -> None:
    writer = _writer(100)
    one_account = [_Usage(usage_event("acct_1"), ["m"]) for _ in range(250)]
    chunks = writer._chunks(one_account)
    # 96 records + account + key + activity row + ledger entry = 100 items.
    assert [len(c) for c in chunks] == [96, 96, 58]
    plan = writer._plan("acct_1", [u.event for u in chunks[0]], set())
    assert len(plan.items) == 100

    many_rows = [
        _Usage(usage_event("acct_1", f"key_{i % 7}", f"{i % 7:064}", model=f"m{i % 5}"), ["m"])
        for i in range(100)
    ]
    for chunk in writer._chunks(many_rows):
        events = [u.event for u in chunk]
        assert len(writer._plan("acct_1", events, set()).items) <= 100


def test_one_ledger_entry_per_transaction_named_after_its_first_request() -> None:
    writer = _writer(100)
    events = [usage_event("acct_1", cost="0.1") for _ in range(3)]
    plan = writer._plan("acct_1", events, set())
    entry = plan.items[-1]["Put"]["Item"]
    first = min(e.generation_id for e in events)
    assert entry["entry_id"] == {"S": "usage#" + first}
    assert entry["amount"] == {"N": "-0.3"}
    assert entry["kind"] == {"S": "usage"}
    kinds = [role for role, _ in plan.roles]
    assert kinds == ["record"] * 3 + ["account", "key", "activity", "ledger"]
