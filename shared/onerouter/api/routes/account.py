"""What a key (or a person signed in to the dashboard) may read about the account: the key
itself (keys only), the account's settings, its credits and credit lots, and activity by day.
Money is a USD decimal string.

Every route answers for the caller's own account only: the account comes from the caller
(`api/callers.py`), never from the request.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any, Literal

from anyio import to_thread
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...accounts.auth import Principal
from ...billing.lots import CreditLots, Lot, next_expiry
from ...billing.money import usd_str
from ...errors import InvalidRequest, NotFound
from ...limits.admission import Limiter
from ...store.ledger import UnknownAccount
from ...store.records import Account, ActivityRow
from ..body import read_json, validate
from ..callers import Caller, account_manager, account_reader
from ..responses import json_response
from .api_keys import key_rate_limit

# The longest date range one activity request may cover, and the default one.
MAX_ACTIVITY_DAYS = 366
DEFAULT_ACTIVITY_DAYS = 30
ACTIVITY_COLUMNS = (
    "date",
    "model",
    "provider",
    "key_id",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost",
)


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
        "rate_limit": key_rate_limit(key),
    }
    return json_response({"data": data})


def _credit_lots(request: Request) -> CreditLots:
    service = request.app.state.accounts
    return CreditLots(service.accounts, service.ledger)


async def _account_and_lots(request: Request, caller: Caller) -> tuple[Account, list[Lot]]:
    """The account and its lots (oldest first), fresh from storage."""
    try:
        return await to_thread.run_sync(_credit_lots(request).read, caller.account_id)
    except UnknownAccount:
        return caller.account, []


async def get_credits(request: Request) -> Response:
    """The account's money, fresh from storage."""
    caller = await account_reader(request)
    account, lots = await _account_and_lots(request, caller)
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


async def get_lots(request: Request) -> Response:
    """The account's credit lots, newest first. What is left of each is derived as
    `billing/lots.py` says: the account's consumption taken from the oldest lots first."""
    caller = await account_reader(request)
    _, lots = await _account_and_lots(request, caller)
    return json_response({"data": [_lot_view(lot) for lot in reversed(lots)]})


def _lot_view(lot: Lot) -> dict[str, Any]:
    entry = lot.entry
    return {
        "id": entry.entry_id,
        "kind": entry.kind,
        "amount": usd_str(entry.amount),
        "remaining": usd_str(lot.remaining),
        "refunded": usd_str(entry.refunded or Decimal(0)),
        "expired": usd_str(entry.expired_amount or Decimal(0)),
        "created_at": entry.created_at,
        "expires_at": lot.expires_at,
        "note": entry.note,
    }


def _account_view(request: Request, account: Account, caller: Caller) -> dict[str, Any]:
    limiter: Limiter = request.app.state.pipeline.limiter
    return {
        "account_id": account.account_id,
        "email": caller.person.email if caller.person is not None else None,
        "data_collection": account.data_collection,
        "created_at": account.created_at,
        "rate_limit": limiter.account_view(account),
    }


async def get_account(request: Request) -> Response:
    """The account's settings, fresh from storage."""
    caller = await account_reader(request)
    account = await to_thread.run_sync(request.app.state.accounts.accounts.get, caller.account_id)
    return json_response({"data": _account_view(request, account or caller.account, caller)})


class AccountChangesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # "allow": providers that may train on prompts may serve this account's requests.
    data_collection: Literal["allow", "deny"] | None = None


async def update_account(request: Request) -> Response:
    """Changes the account's settings. Routing in this process honours them at once (the
    authentication cache forgets the account); other processes within the cache's TTL."""
    caller = await account_manager(request)
    body = validate(AccountChangesBody, await read_json(request, 16 * 1024))
    if body.data_collection is None:
        raise InvalidRequest('Send data_collection: "allow" or "deny".', param="data_collection")
    accounts = request.app.state.accounts.accounts
    updated = await to_thread.run_sync(
        accounts.set_data_collection, caller.account_id, body.data_collection
    )
    if updated is None:  # the account is gone
        raise NotFound("No such account.", code="account_not_found")
    request.app.state.pipeline.authenticator.forget(caller.account_id)
    return json_response({"data": _account_view(request, updated, caller)})


def _day(request: Request, name: str, default: dt.date) -> dt.date:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date, YYYY-MM-DD.", param=name) from None


async def get_activity(request: Request) -> Response:
    """Usage by day, model, provider and key, from `from` to `to` (inclusive, UTC days), as
    JSON or (`format=csv`) as a CSV file with the same columns."""
    caller = await account_reader(request)
    kind = request.query_params.get("format", "json")
    if kind not in ("json", "csv"):
        raise InvalidRequest("format must be json or csv.", param="format")
    today = dt.datetime.now(dt.UTC).date()
    last = _day(request, "to", today)
    first = _day(request, "from", last - dt.timedelta(days=DEFAULT_ACTIVITY_DAYS - 1))
    if first > last:
        raise InvalidRequest("from must not be after to.", param="from")
    if (last - first).days >= MAX_ACTIVITY_DAYS:
        raise InvalidRequest(f"At most {MAX_ACTIVITY_DAYS} days at once.", param="from")
    rows: list[ActivityRow] = await to_thread.run_sync(
        request.app.state.activity.rows, caller.account_id, first.isoformat(), last.isoformat()
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
    if kind == "csv":
        return _csv(data, f"activity-{first.isoformat()}-{last.isoformat()}.csv")
    total = sum((row.cost for row in rows), Decimal(0))
    return json_response(
        {
            "data": data,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "total_cost": usd_str(total),
        }
    )


def _csv(rows: list[dict[str, Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ACTIVITY_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


routes = [
    Route("/key", get_key, methods=["GET"]),
    Route("/account", get_account, methods=["GET"]),
    Route("/account", update_account, methods=["PATCH"]),
    Route("/credits", get_credits, methods=["GET"]),
    Route("/credits/lots", get_lots, methods=["GET"]),
    Route("/activity", get_activity, methods=["GET"]),
]
