"""The account's request log: one generation by id, or a page of them, newest first. Metadata
only (the usage records hold no prompt and no completion); money is a USD decimal string.

A page's `next_cursor` is opaque to clients: base64url of the JSON position the next page
starts after (its account, time and generation id). A cursor continues only the caller's own
account's listing; anything else is a 400 `invalid_cursor`.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import Any

import orjson
from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...billing.money import usd_str
from ...errors import InvalidRequest, NotFound
from ...store.usage import PAGE_KEY, Page, UsageRepository
from ...usage.events import COUNTS
from ..callers import account_reader
from ..responses import json_response

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
STATUSES = ("ok", "error", "cancelled")
FILTERS = ("model", "provider", "key_id", "status")
_MAX_FILTER = 256  # longer than any name the usage consumer accepts
_MAX_CURSOR = 2048


async def get_generation(request: Request) -> Response:
    caller = await account_reader(request)
    generation_id = request.query_params.get("id")
    if not generation_id:
        raise InvalidRequest("The query parameter id is required.", param="id")
    record = await to_thread.run_sync(_usage(request).get, generation_id)
    # Another account's generation is as absent as one that never was.
    if record is None or record.get("account_id") != caller.account_id:
        raise NotFound(
            f"No generation {generation_id!r} for this account (yet: a request is recorded "
            "a few seconds after it ends).",
            code="generation_not_found",
            param="id",
        )
    return json_response({"data": generation_view(record)})


async def list_generations(request: Request) -> Response:
    """The account's generations, newest first, filtered by model, provider, key and status.
    A page may hold fewer than `limit` (the filters matched few of the records read) and still
    have a `next_cursor`; `next_cursor` null means the end."""
    caller = await account_reader(request)
    params = request.query_params
    limit = _limit(params.get("limit"))
    start = (
        None if params.get("cursor") is None else decode_cursor(params["cursor"], caller.account_id)
    )
    filters = {}
    for name in FILTERS:
        value = params.get(name)
        if value is None:
            continue
        if not 0 < len(value) <= _MAX_FILTER:
            raise InvalidRequest(f"{name} must be 1 to {_MAX_FILTER} characters.", param=name)
        if name == "status" and value not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}.", param="status")
        filters[name] = value
    page: Page = await to_thread.run_sync(
        lambda: _usage(request).page(caller.account_id, limit, start, filters)
    )
    cursor = None if page.next_key is None else encode_cursor(page.next_key)
    return json_response(
        {"data": [generation_view(r) for r in page.records], "next_cursor": cursor}
    )


def _usage(request: Request) -> UsageRepository:
    usage: UsageRepository = request.app.state.usage_records
    return usage


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.", param="limit")
    return int(raw)


def encode_cursor(position: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str, account_id: str) -> dict[str, str]:
    """The position a cursor names, if it is one of `account_id`'s listing."""
    invalid = InvalidRequest(
        "cursor is not a cursor of this listing; pass next_cursor as it came, or leave it out "
        "to start from the newest.",
        code="invalid_cursor",
        param="cursor",
    )
    if not 0 < len(cursor) <= _MAX_CURSOR:
        raise invalid
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if (
        not isinstance(position, dict)
        or set(position) != set(PAGE_KEY)
        or not all(isinstance(value, str) and value for value in position.values())
        or position["account_id"] != account_id
    ):
        raise invalid
    return position


def generation_view(record: dict[str, Any]) -> dict[str, Any]:
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
        **{name: int(record.get(name) or 0) for name in COUNTS},
        "ttft_ms": None if record.get("ttft_ms") is None else int(record["ttft_ms"]),
        "is_byok": bool(record.get("is_byok")),
        **money,
        "cost_details": {name: usd_str(Decimal(value)) for name, value in details.items()},
        # Endpoints tried first that failed (an outage, not the request's fault): fallbacks.
        "failed_attempts": [
            {"model": model, "provider": provider}
            for model, provider in record.get("failed_endpoints") or ()
        ],
    }


routes = [
    Route("/generation", get_generation, methods=["GET"]),
    Route("/generations", list_generations, methods=["GET"]),
]
