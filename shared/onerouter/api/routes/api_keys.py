"""The key management API (/api/v1/keys): a management key, or a person signed in to the
dashboard, lists, creates, updates and deletes the account's API keys. A key's secret is
shown once, in the answer that creates it; after that only its hint. Money is a USD decimal string.

A change takes effect at once in the process that made it (its authentication cache forgets
the account); other processes serve a key from memory for up to `auth_cache_ttl` seconds
(ONEROUTER_AUTH_CACHE_TTL, 5 by default), so there a disabled or deleted key, or an old limit,
may still be honoured for that long.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from anyio import to_thread
from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...accounts.service import AccountService
from ...billing.money import parse_usd, usd_str
from ...errors import InvalidRequest, NotFound, PermissionDenied
from ...limits.fields import ConcurrentRequests, RequestsPerMinute
from ...store.keys import KeysRepository
from ...store.records import ApiKey
from ..body import read_json, validate
from ..callers import Caller, account_manager
from ..responses import json_response

MAX_BODY_BYTES = 16 * 1024
# A key limit above this is far more likely a typo than a budget.
MAX_LIMIT = Decimal(1_000_000)
# Finer than this is no amount of money, and DynamoDB numbers hold 38 digits at most.
MAX_LIMIT_PLACES = 12
# Secrets must not linger in a proxy or browser cache.
NO_STORE = {"cache-control": "no-store"}


def _limit(value: Any) -> Decimal | None:
    if value is None:
        return None
    rule = f"must be a number of US dollars, more than 0 and at most {MAX_LIMIT} (or null)"
    try:
        amount = parse_usd(value, field="limit")
    except ValueError:
        raise PydanticCustomError("usd", rule) from None
    if not 0 < amount <= MAX_LIMIT:
        raise PydanticCustomError("usd", rule)
    # Trailing zeros are fine ("1.50000000000000000"); finer amounts are not.
    exact = amount.quantize(Decimal(1).scaleb(-MAX_LIMIT_PLACES))
    if exact != amount:
        raise PydanticCustomError("usd", f"must be whole to {MAX_LIMIT_PLACES} decimal places")
    return exact.normalize()


# A key's spending limit: USD, > 0 and <= 1,000,000, as a string or a number; null for none.
KeyLimit = Annotated[Decimal | None, BeforeValidator(_limit)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def key_view(key: ApiKey) -> dict[str, Any]:
    """What an account sees of a key: never its secret, never its hash."""
    remaining = None if key.limit is None else max(key.limit - key.usage, Decimal(0))
    return {
        "key_id": key.key_id,
        "label": key.label,
        "hint": key.hint,
        "created_at": key.created_at,
        "disabled": key.disabled,
        "management": key.management,
        "limit": None if key.limit is None else usd_str(key.limit),
        "usage": usd_str(key.usage),
        "limit_remaining": None if remaining is None else usd_str(remaining),
        "rate_limit": key_rate_limit(key),
    }


def key_rate_limit(key: ApiKey) -> dict[str, int | None]:
    """The key's own rate limits; null ones are the account's."""
    return {
        "requests_per_minute": _whole(key.requests_per_minute),
        "concurrent_requests": _whole(key.concurrent_requests),
    }


def _whole(value: Any) -> int | None:
    return None if value is None else int(value)


def created_key_response(key: ApiKey, secret: str, **extra: Any) -> Response:
    return json_response({**extra, "data": key_view(key), "key": secret}, 201, NO_STORE)


class NewKeyBody(BaseModel):
    # No `management` field: a management key creates regular keys only.
    model_config = ConfigDict(extra="forbid")
    label: Label
    limit: KeyLimit = None


class KeyChangesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label | None = None
    limit: KeyLimit = None
    disabled: StrictBool | None = None
    # Rate limits of this key's own, within its account's; null: the account's alone.
    requests_per_minute: RequestsPerMinute | None = None
    concurrent_requests: ConcurrentRequests | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent; a null `limit` (no limit) or rate limit among them."""
        sent = {name: getattr(self, name) for name in self.model_fields_set}
        for name in ("label", "disabled"):
            if name in sent and sent[name] is None:
                raise InvalidRequest(f"Invalid request: {name} may not be null.", param=name)
        if not sent:
            raise InvalidRequest(
                "Send at least one of label, limit, disabled, requests_per_minute and "
                "concurrent_requests."
            )
        return sent


def _keys(request: Request) -> KeysRepository:
    service: AccountService = request.app.state.accounts
    return service.keys


async def _find(request: Request, caller: Caller) -> ApiKey:
    key_id: str = request.path_params["key_id"]
    key = await to_thread.run_sync(_keys(request).find, caller.account_id, key_id)
    if key is None:
        raise _not_found(key_id)
    return key


def _not_found(key_id: str) -> NotFound:
    return NotFound(f"No API key {key_id!r} in this account.", code="key_not_found")


def _refuse_own_revocation(caller: Caller, key: ApiKey, action: str) -> None:
    # The caller would lock itself out mid-conversation; another management key (or the
    # operator, or a person) revokes a management key, which is how one rotates them. A
    # person calls with no key, so has none to lock out.
    if caller.key is not None and key.key_id == caller.key.key_id:
        raise PermissionDenied(
            f"A management key cannot {action} itself; use another management key.",
            code="cannot_revoke_own_key",
        )


async def list_keys(request: Request) -> Response:
    caller = await account_manager(request)
    keys = await to_thread.run_sync(_keys(request).of_account, caller.account_id)
    return json_response({"data": [key_view(key) for key in keys]})


async def create_key(request: Request) -> Response:
    caller = await account_manager(request)
    body = validate(NewKeyBody, await read_json(request, MAX_BODY_BYTES))
    service: AccountService = request.app.state.accounts
    key, secret = await to_thread.run_sync(
        lambda: service.issue_key(caller.account_id, body.label, limit=body.limit)
    )
    return created_key_response(key, secret)


async def update_key(request: Request) -> Response:
    """Changes a key's label, limit (null: none) or disabled flag; its usage is left alone."""
    caller = await account_manager(request)
    changes = validate(KeyChangesBody, await read_json(request, MAX_BODY_BYTES)).changes()
    key = await _find(request, caller)
    if key.management and changes.get("limit") is not None:
        raise InvalidRequest("A management key cannot spend, so it takes no limit.", param="limit")
    if changes.get("disabled"):
        _refuse_own_revocation(caller, key, "disable")
    updated = await to_thread.run_sync(
        _keys(request).update, key.key_hash, caller.account_id, changes
    )
    if updated is None:  # deleted meanwhile
        raise _not_found(key.key_id)
    request.app.state.pipeline.authenticator.forget(caller.account_id)
    return json_response({"data": key_view(updated)})


async def delete_key(request: Request) -> Response:
    """Deletes a key for good: it stops working here at once, and within the auth cache's
    TTL in every other process (see the module's docstring)."""
    caller = await account_manager(request)
    key = await _find(request, caller)
    _refuse_own_revocation(caller, key, "delete")
    deleted = await to_thread.run_sync(_keys(request).delete, key.key_hash, caller.account_id)
    if deleted is None:  # deleted meanwhile
        raise _not_found(key.key_id)
    request.app.state.pipeline.authenticator.forget(caller.account_id)
    return json_response({"data": {"key_id": key.key_id, "deleted": True}})


routes = [
    Route("/keys", list_keys, methods=["GET"]),
    Route("/keys", create_key, methods=["POST"]),
    Route("/keys/{key_id}", update_key, methods=["PATCH"]),
    Route("/keys/{key_id}", delete_key, methods=["DELETE"]),
]
