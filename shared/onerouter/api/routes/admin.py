"""The operator API (/api/v1/admin/...), open only to bearers of ONEROUTER_ADMIN_TOKEN."""

from __future__ import annotations

import hmac
from decimal import Decimal
from typing import Annotated, Any, Literal

from anyio import to_thread
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...accounts.service import AccountService
from ...billing.money import parse_usd, usd_str
from ...errors import AuthenticationFailed, InvalidRequest, NotFound
from ...limits.admission import Limiter
from ...limits.fields import FIELDS, LimitChanges
from ...store.ledger import UnknownAccount
from ..body import read_json, validate
from ..responses import json_response
from .api_keys import NO_STORE, KeyLimit, Label, created_key_response

# Above this a grant is far more likely a typo than a top-up.
MAX_GRANT = Decimal(1_000_000)


def _usd(value: Any) -> Decimal:
    amount = parse_usd(value)
    if amount > MAX_GRANT:
        raise ValueError(f"at most {MAX_GRANT} USD at once")
    return amount


Usd = Annotated[Decimal, BeforeValidator(_usd)]


def require_admin(request: Request) -> None:
    token = request.app.state.settings.admin_token
    if not token:
        raise NotFound("The operator API is disabled: ONEROUTER_ADMIN_TOKEN is not set.")
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise AuthenticationFailed("Invalid operator token.", code="invalid_admin_token")


class NewAccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credits: Usd = Decimal(0)
    label: str = Field(default="default", max_length=100)
    # Whether providers that may train on prompts may serve the account (a request's
    # `provider.data_collection` still decides for itself).
    data_collection: Literal["allow", "deny"] = "deny"
    # Also open a management key (for /api/v1/keys); the answer then adds its secret.
    management_key: StrictBool = False


class NewKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label = "default"
    management: StrictBool = False
    limit: KeyLimit = None


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Usd
    id: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=500)


def _service(request: Request) -> AccountService:
    service: AccountService = request.app.state.accounts
    return service


async def _body(
    request: Request, schema: type[NewAccountBody] | type[NewKeyBody] | type[GrantBody]
) -> Any:
    return validate(schema, await read_json(request, 64 * 1024, allow_empty=True))


async def create_account(request: Request) -> Response:
    require_admin(request)
    body: NewAccountBody = await _body(request, NewAccountBody)
    service = _service(request)
    opened = await to_thread.run_sync(
        lambda: service.open_account(
            body.credits,
            label=body.label,
            data_collection=body.data_collection,
            management_key=body.management_key,
        )
    )
    created: dict[str, Any] = {
        "account_id": opened.account_id,
        "key": opened.key,
        "key_id": opened.key_id,
        "credits": usd_str(body.credits),
        "data_collection": body.data_collection,
    }
    if opened.management_key:
        created["management_key"] = opened.management_key
        created["management_key_id"] = opened.management_key_id
    return json_response(created, status=201, headers=NO_STORE)


async def create_key(request: Request) -> Response:
    """A new key for an account: how an account gets a management key."""
    require_admin(request)
    account_id: str = request.path_params["account_id"]
    body: NewKeyBody = await _body(request, NewKeyBody)
    if body.management and body.limit is not None:
        raise InvalidRequest("A management key cannot spend, so it takes no limit.", param="limit")
    service = _service(request)

    def issue() -> Any:
        return service.issue_key(
            account_id, body.label, management=body.management, limit=body.limit
        )

    try:
        key, secret = await to_thread.run_sync(issue)
    except UnknownAccount:
        raise NotFound(f"No account {account_id!r}.", code="account_not_found") from None
    return created_key_response(key, secret, account_id=account_id)


async def grant_credits(request: Request) -> Response:
    require_admin(request)
    account_id: str = request.path_params["account_id"]
    body: GrantBody = await _body(request, GrantBody)
    if body.amount <= 0:
        raise InvalidRequest("amount must be more than zero", param="amount")
    service = _service(request)

    def grant() -> bool:
        return service.grant(account_id, body.amount, grant_id=body.id, note=body.note)

    try:
        applied = await to_thread.run_sync(grant)
    except UnknownAccount:
        raise NotFound(f"No account {account_id!r}.", code="account_not_found") from None
    request.app.state.pipeline.authenticator.forget(account_id)
    account = await to_thread.run_sync(service.accounts.get, account_id)
    balance = usd_str(account.balance) if account else None
    granted = {
        "account_id": account_id,
        "amount": usd_str(body.amount),
        "applied": applied,
        "balance": balance,
    }
    return json_response(granted, status=201 if applied else 200)


async def set_limits(request: Request) -> Response:
    """An account's rate limits: a number sets its own, null returns it to the default."""
    require_admin(request)
    account_id: str = request.path_params["account_id"]
    changes = validate(LimitChanges, await read_json(request, 16 * 1024)).changes()
    accounts = _service(request).accounts
    account = await to_thread.run_sync(accounts.set_limits, account_id, changes)
    if account is None:
        raise NotFound(f"No account {account_id!r}.", code="account_not_found")
    # This process applies them at once; others when their few-seconds cache of it lapses.
    request.app.state.pipeline.authenticator.forget(account_id)
    limiter: Limiter = request.app.state.pipeline.limiter
    own = {name: getattr(account, name) for name in FIELDS}
    view = {"account_id": account_id, "rate_limit": limiter.account_view(account), "own": own}
    return json_response(view)


routes = [
    Route("/admin/accounts", create_account, methods=["POST"]),
    Route("/admin/accounts/{account_id}/keys", create_key, methods=["POST"]),
    Route("/admin/accounts/{account_id}/credits", grant_credits, methods=["POST"]),
    Route("/admin/accounts/{account_id}/limits", set_limits, methods=["PATCH"]),
]
