"""The headers every front door's answer carries: which request this was (the generation id,
for /api/v1/generation), whether the prompt cache answered, and which provider served."""

from __future__ import annotations

from ..providers.base import Target
from .pipeline import Call


def served_headers(call: Call, target: Target | None) -> dict[str, str]:
    """`target`: the endpoint that served; None before one has (an empty stream's start)."""
    headers = {
        "x-onerouter-generation-id": call.generation_id,
        "x-onerouter-cache": call.cache_status,
    }
    if target is not None:
        headers["x-onerouter-provider"] = target.provider.id
    headers.update(call.ticket.headers())
    return headers
