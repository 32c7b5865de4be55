"""The one pipeline every front door feeds: who is calling, can they pay, where does it go.

A front door translates its wire format into a `GatewayRequest` and back; everything between
(auth, credit checks, routing, fallback, and later the cache and billing) happens here, once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ..accounts.auth import Authenticator, Principal
from ..providers.base import Target
from ..requests import GatewayRequest
from ..routing.dispatch import Dispatcher
from ..routing.router import Route, Router


def new_generation_id() -> str:
    # Time-ordered, so ids sort by when the request arrived.
    return f"gen-{int(time.time() * 1000):011x}{secrets.token_hex(10)}"


@dataclass(slots=True)
class Call:
    principal: Principal
    request: GatewayRequest
    route: Route
    generation_id: str


class Pipeline:
    def __init__(self, authenticator: Authenticator, router: Router, dispatcher: Dispatcher):
        self.authenticator = authenticator
        self.router = router
        self.dispatcher = dispatcher

    async def authenticate(self, authorization: str | None) -> Principal:
        return await self.authenticator.authenticate(authorization)

    def begin(self, principal: Principal, request: GatewayRequest) -> Call:
        principal.check_can_spend()
        allow_training = principal.account.data_collection == "allow"
        route = self.router.plan(request, allow_training)
        return Call(principal, request, route, new_generation_id())

    async def complete(self, call: Call) -> tuple[Target, dict[str, Any]]:
        target, body = await self.dispatcher.complete(call.route, call.request)
        body["id"] = call.generation_id
        return target, body

    async def stream(self, call: Call) -> AsyncIterator[tuple[Target, dict[str, Any]]]:
        """Chunks for the client. The usage-only chunk is kept only if the client asked for it."""
        show_usage = call.request.include_usage
        async for target, chunk in self.dispatcher.stream(call.route, call.request):
            chunk["id"] = call.generation_id
            if not show_usage and chunk.get("usage") and not chunk.get("choices"):
                continue
            if not show_usage:
                chunk.pop("usage", None)
            yield target, chunk
