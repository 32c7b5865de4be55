"""Stored provider keys (/api/v1/provider-keys): a management key, or a person signed in to
the dashboard, stores the account's own API key for a catalog provider, lists them (masked)
and deletes them. No answer ever holds a key, only its hint; see `accounts/provider_keys.py`.

A change takes effect at once in the process that made it; elsewhere once the account
record cached there (ONEROUTER_AUTH_CACHE_TTL, 5 s by default) lists the change.
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...accounts.provider_keys import ProviderKeys
from ...errors import NotFound
from ..body import read_json, validate
from ..callers import account_manager
from ..responses import json_response

MAX_BODY_BYTES = 16 * 1024
# Keys must not linger in a proxy or browser cache, nor their hints.
NO_STORE = {"cache-control": "no-store"}


def _no_whitespace(value: str) -> str:
    if any(character.isspace() for character in value):
        raise PydanticCustomError("api_key", "must not contain whitespace")
    return value


ApiKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4096),
    AfterValidator(_no_whitespace),
]


class ProviderKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    api_key: ApiKey
    # Whether OneRouter's shared keys may serve when this key fails.
    fallback: StrictBool = True


def _vault(request: Request) -> ProviderKeys:
    vault: ProviderKeys = request.app.state.provider_keys
    return vault


async def list_provider_keys(request: Request) -> Response:
    caller = await account_manager(request)
    views = await to_thread.run_sync(_vault(request).list, caller.account_id)
    return json_response({"data": [view.as_json() for view in views]}, headers=NO_STORE)


async def put_provider_key(request: Request) -> Response:
    """Stores the account's key for the provider, replacing the one it had."""
    caller = await account_manager(request)
    provider: str = request.path_params["provider"]
    body = validate(ProviderKeyBody, await read_json(request, MAX_BODY_BYTES))
    vault = _vault(request)
    view = await to_thread.run_sync(
        lambda: vault.save(caller.account_id, provider, body.api_key, body.fallback)
    )
    # The account record cached for requests lists the providers with a stored key.
    request.app.state.pipeline.authenticator.forget(caller.account_id)
    return json_response({"data": view.as_json()}, headers=NO_STORE)


async def delete_provider_key(request: Request) -> Response:
    caller = await account_manager(request)
    provider: str = request.path_params["provider"]
    deleted = await to_thread.run_sync(_vault(request).delete, caller.account_id, provider)
    if not deleted:
        raise NotFound(
            f"No stored key for provider {provider!r} in this account.",
            code="provider_key_not_found",
        )
    request.app.state.pipeline.authenticator.forget(caller.account_id)
    return json_response({"data": {"provider": provider, "deleted": True}}, headers=NO_STORE)


routes = [
    Route("/provider-keys", list_provider_keys, methods=["GET"]),
    Route("/provider-keys/{provider}", put_provider_key, methods=["PUT"]),
    Route("/provider-keys/{provider}", delete_provider_key, methods=["DELETE"]),
]
