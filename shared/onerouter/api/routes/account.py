"""What a key may read about itself and its account: the key, the credits, one generation's
record, and activity by day. Money is a USD decimal string."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...accounts.auth import Principal
from ...billing.lots import CreditLots, next_expiry
from ...billing.money import usd_str
from ...errors import InvalidRequest, NotFound
from ...store.ledger import UnknownAccount
from ...store.records import ActivityRow
from ..responses import json_response

# The longest date range one activity request may cover, and the default one.
MAX_ACTIVITY_DAYS = 366
DEFAULT_ACTIVITY_DAYS = 30


async def _principal(request: Request) -> Principal:
    principal: Principal = await request.app.state.pipeline.authenticate(
        request.headers.get("authorization")
    )
    return principal


async def get_key(request: Request) -> Response:
    """This key: fresh from storage, not the few-seconds-old copy requests are checked with."""
    principal = await _principal(request)
    key = await to_thread.run_sync(request.app.state.accounts.keys.get, principal.key.key_hash)
    key = key or principal.key
    remaining = None if key.limit is None else max(key.limit - key.usage, Decimal(0))
    data = {
        "key_id": key.key_id,
        "label": key.label,
        "hint": key.hint,
        "created_at": key.created_at,
        "disabled": key.disabled,
        "limit": None if key.limit is None else usd_str(key.limit),
        "usage": usd_str(key.usage),
        "limit_remaining": None if remaining is None else usd_str(remaining),
    }
    return json_response({"data": data})


async def get_credits(request: Request) -> Response:
    """The account's money, fresh from storage."""
    principal = await _principal(request)
    service = request.app.state.accounts
    credit_lots = CreditLots(service.accounts, service.ledger)
    try:
        account, lots = await to_thread.run_sync(credit_lots.read, principal.account_id)
    except UnknownAccount:
        account, lots = principal.account, []
    upcoming = next_expiry(lots)
    data = {
        # total_credits is net of refunds: balance = total_credits - total_usage - total_expired.
        "balance": usd_str(account.balance),
        "total_credits": usd_str(account.total_credits),
        "total_usage": usd_str(account.total_usage),
        "total_expired": usd_str(account.total_expired),
        # The earliest moment some credit expires (ISO-8601 UTC) and how much of it is left.
        "next_expiry": None
        if upcoming is None
        else {"date": upcoming[0], "amount": usd_str(upcoming[1])},
    }
    return json_response({"data": data})


async def get_generation(request: Request) -> Response:
    principal = await _principal(request)
    generation_id = request.query_params.get("id")
    if not generation_id:
        raise InvalidRequest("The query parameter id is required.", param="id")
    record = await to_thread.run_sync(request.app.state.usage_records.get, generation_id)
    # Another account's generation is as absent as one that never was.
    if record is None or record.get("account_id") != principal.account_id:
        raise NotFound(
            f"No generation {generation_id!r} for this account (yet: a request is recorded "
            "a few seconds after it ends).",
            code="generation_not_found",
            param="id",
        )
    return json_response({"data": _generation(record)})


def _generation(record: dict[str, Any]) -> dict[str, Any]:
    money = {"cost": usd_str(record["cost"])}
    details = record.get("cost_details") or {}
    return {
        "id": record["generation_id"],
        **{
            name: record.get(name)
            for name in (
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
            )
        },
        **{
            name: int(record.get(name) or 0)
            for name in (
                "prompt_tokens",
                "completion_tokens",
                "cached_tokens",
                "cache_write_tokens",
                "reasoning_tokens",
                "images",
                "latency_ms",
            )
        },
        "ttft_ms": None if record.get("ttft_ms") is None else int(record["ttft_ms"]),
        **money,
        "cost_details": {name: usd_str(Decimal(value)) for name, value in details.items()},
    }


def _day(request: Request, name: str, default: dt.date) -> dt.date:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date, YYYY-MM-DD.", param=name) from None


async def get_activity(request: Request) -> Response:
    """Usage by day, model, provider and key, from `from` to `to` (inclusive, UTC days)."""
    principal = await _principal(request)
    today = dt.datetime.now(dt.UTC).date()
    last = _day(request, "to", today)
    first = _day(request, "from", last - dt.timedelta(days=DEFAULT_ACTIVITY_DAYS - 1))
    if first > last:
        raise InvalidRequest("from must not be after to.", param="from")
    if (last - first).days >= MAX_ACTIVITY_DAYS:
        raise InvalidRequest(f"At most {MAX_ACTIVITY_DAYS} days at once.", param="from")
    rows: list[ActivityRow] = await to_thread.run_sync(
        request.app.state.activity.rows, principal.account_id, first.isoformat(), last.isoformat()
    )
    data = [
        {
            "date": row.day,
            "model": row.model,
            "provider": row.provider,
            "key_id": row.key_id,
            "requests": row.requests,
            "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens,
            "cached_tokens": row.cached_tokens,
            "reasoning_tokens": row.reasoning_tokens,
            "cost": usd_str(row.cost),
        }
        for row in sorted(rows, key=lambda r: (r.day, r.model, r.provider, r.key_id))
    ]
    total = sum((row.cost for row in rows), Decimal(0))
    return json_response(
        {
            "data": data,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "total_cost": usd_str(total),
        }
    )


routes = [
    Route("/key", get_key, methods=["GET"]),
    Route("/credits", get_credits, methods=["GET"]),
    Route("/generation", get_generation, methods=["GET"]),
    Route("/activity", get_activity, methods=["GET"]),
]
