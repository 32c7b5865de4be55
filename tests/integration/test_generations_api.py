"""GET /api/v1/generations: the account's requests newest first, a page at a time, filtered,
with cursors that continue only the caller's own listing."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest

from onerouter.accounts.service import AccountService, NewAccount
from onerouter.api.routes.generations import encode_cursor
from onerouter.settings import Settings
from onerouter.store import usage as usage_store
from onerouter.usage.consumer import UsageConsumer
from onerouter.usage.events import UsageEvent
from tests.account_api import bill, call, event_of
from tests.fakes.gateway import ServerThread

GENERATION_FIELDS = {
    "id",
    "created_at",
    "model",
    "provider",
    "provider_model",
    "key_id",
    "status",
    "streamed",
    "cache",
    "finish_reason",
    "estimated",
    "is_byok",
    "failed_attempts",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "images",
    "latency_ms",
    "ttft_ms",
    "cost",
    "cost_details",
}


@pytest.fixture(scope="module")
def consumer(settings: Settings) -> UsageConsumer:
    return UsageConsumer.from_settings(settings)


def _at(minute: int) -> str:
    return f"2026-11-20T10:{minute:02d}:00.000Z"


@pytest.fixture
def history(
    gateway: ServerThread, account: NewAccount, consumer: UsageConsumer
) -> list[UsageEvent]:
    """Twelve requests a minute apart, of two models, two providers, two keys and every
    status; newest first."""
    service: AccountService = gateway.app.state.accounts
    second, _ = service.issue_key(account.account_id, "second")
    events = []
    for minute in range(12):
        event = event_of(
            account,
            created_at=_at(minute),
            model="test/chat" if minute % 3 else "test/solo",
            provider="backup" if minute % 4 == 0 else "primary",
            status=("ok", "ok", "error", "cancelled")[minute % 4],
            cost=f"0.00{minute + 1}",
        )
        if minute % 2:
            event = dataclasses.replace(event, key_id=second.key_id, key_hash=second.key_hash)
        events.append(event)
    bill(consumer, *events)
    return sorted(events, key=lambda e: e.created_at, reverse=True)


def _list(gateway: ServerThread, key: str, **params: Any) -> dict[str, Any]:
    response = call(
        gateway, "GET", "/generations", key, params={k: str(v) for k, v in params.items()}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"data", "next_cursor"}
    return body


def _all_pages(gateway: ServerThread, key: str, **params: Any) -> tuple[list[str], list[int]]:
    """Every generation id the listing gives, page after page, and each page's size."""
    ids: list[str] = []
    sizes: list[int] = []
    cursor = None
    for _ in range(50):
        page = _list(gateway, key, **params, **({"cursor": cursor} if cursor else {}))
        ids += [g["id"] for g in page["data"]]
        sizes.append(len(page["data"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, sizes
    raise AssertionError("the listing did not end")


def test_newest_first_in_pages(
    gateway: ServerThread, account: NewAccount, history: list[UsageEvent]
) -> None:
    first = _list(gateway, account.key)
    assert [g["id"] for g in first["data"]] == [e.generation_id for e in history]
    assert first["next_cursor"] is None
    generation = first["data"][0]
    assert set(generation) == GENERATION_FIELDS
    # The same view as GET /generation.
    one = call(gateway, "GET", "/generation", account.key, params={"id": generation["id"]})
    assert one.json()["data"] == generation

    ids, sizes = _all_pages(gateway, account.key, limit=5)
    assert ids == [e.generation_id for e in history]
    assert sizes == [5, 5, 2]


@pytest.mark.parametrize(
    "filters",
    [
        {"model": "test/solo"},
        {"provider": "backup"},
        {"status": "error"},
        {"status": "cancelled"},
        {"model": "test/chat", "status": "ok"},
        {"key_id": "second"},
        {"model": "test/none"},
    ],
)
def test_filters_across_pages(
    gateway: ServerThread,
    account: NewAccount,
    history: list[UsageEvent],
    filters: dict[str, str],
) -> None:
    if filters.get("key_id") == "second":
        filters = {"key_id": history[0].key_id}  # the newest (minute 11) is the second key's
    wanted = [
        e.generation_id
        for e in history
        if all(getattr(e, name) == value for name, value in filters.items())
    ]
    ids, sizes = _all_pages(gateway, account.key, limit=2, **filters)
    assert ids == wanted
    # Pages are full but for the last: the listing reads on past records the filter drops.
    assert all(size == 2 for size in sizes[:-1])


def test_a_selective_filter_gives_short_pages_not_long_reads(
    gateway: ServerThread,
    account: NewAccount,
    history: list[UsageEvent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One query of two records per page: the oldest request alone matches, eleven records in.
    monkeypatch.setattr(usage_store, "_QUERY_ITEMS", 2)
    monkeypatch.setattr(usage_store, "_MAX_QUERIES", 1)
    oldest = history[-1]
    ids, sizes = _all_pages(gateway, account.key, limit=1, model="test/solo", provider="backup")
    assert oldest.generation_id in ids
    assert ids == [
        e.generation_id for e in history if (e.model, e.provider) == (oldest.model, "backup")
    ]
    assert len(sizes) > 2 and 0 in sizes


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"status": "failed"}, "status"),
        ({"model": ""}, "model"),
    ],
)
def test_bad_parameters_are_400(
    gateway: ServerThread, account: NewAccount, params: dict[str, str], param: str
) -> None:
    response = call(gateway, "GET", "/generations", account.key, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_cursor_continues_only_this_accounts_listing(
    gateway: ServerThread, account: NewAccount, history: list[UsageEvent]
) -> None:
    cursor = _list(gateway, account.key, limit=3)["next_cursor"]
    assert cursor
    other = gateway.app.state.accounts.open_account()
    position = {
        "account_id": account.account_id,
        "created_at": history[0].created_at,
        "generation_id": history[0].generation_id,
    }
    bad = [
        cursor,  # this account's cursor, in another account's hands
        "!!!",
        _b64(b"not json"),
        _b64(b"[1, 2]"),
        _b64(json.dumps({**position, "account_id": other.account_id, "x": "1"}).encode()),
        _b64(json.dumps({**position, "created_at": 5}).encode()),
        _b64(json.dumps({"account_id": account.account_id}).encode()),
        "",
        "A" * 5000,
    ]
    for value in bad:
        response = call(gateway, "GET", "/generations", other.key, params={"cursor": value})
        assert response.status_code == 400, value
        error = response.json()["error"]
        assert (error["code"], error["param"]) == ("invalid_cursor", "cursor")
    # The other account's own cursor of the same shape starts from nothing of ours.
    theirs = encode_cursor({**position, "account_id": other.account_id})
    assert _list(gateway, other.key, cursor=theirs)["data"] == []
    # And the owner may go on from it.
    assert len(_list(gateway, account.key, cursor=cursor)["data"]) == 9
