"""GET /v1/models and /v1/models/{id}: what can be called, from whom, at what price; and
GET /api/v1/models/stats: how each endpoint did over the last 24 hours."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...billing.money import usd_str
from ...routing.catalog import ListPricing, Model, Pricing
from ...routing.router import Router
from ...store.endpoint_stats import (
    EndpointCounts,
    EndpointStatsRepository,
    last_hours,
    percentile,
)
from ..responses import json_response

STATS_WINDOW_HOURS = 24
# Seconds one process serves the stats from memory: they change slowly and cost 24 queries.
STATS_CACHE_SECONDS = 60.0


async def list_models(request: Request) -> Response:
    return json_response({"object": "list", "data": request.app.state.models_listing})


async def get_model(request: Request) -> Response:
    state = request.app.state
    model = state.pipeline.router.model(request.path_params["model_id"])
    return json_response(state.models_by_id[model.id])


class EndpointStats:
    """The last 24 hours of endpoint stats, read from the table at most once a minute."""

    def __init__(
        self, repository: EndpointStatsRepository, ttl: float = STATS_CACHE_SECONDS
    ) -> None:
        self.repository = repository
        self.ttl = ttl
        self._cached: tuple[float, list[dict[str, Any]]] | None = None

    def forget(self) -> None:
        self._cached = None

    async def current(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        if self._cached is not None and self._cached[0] > now:
            return self._cached[1]
        hours = last_hours(datetime.now(UTC), STATS_WINDOW_HOURS)
        merged = await to_thread.run_sync(self.repository.window, hours)
        data = [endpoint_summary(counts) for counts in merged]
        self._cached = (now + self.ttl, data)
        return data


def endpoint_summary(counts: EndpointCounts) -> dict[str, Any]:
    """One endpoint's line of the models page. p50s are read from log-spaced histograms (four
    buckets per doubling) as their bucket's midpoint: within ~9% of the true median.
    Throughput is completion tokens per second of generation (after the first token) of
    streamed requests; the success rate leaves out requests the client cancelled."""
    p50_latency = percentile(counts.latency, 0.5)
    p50_ttft = percentile(counts.ttft, 0.5)
    finished = counts.ok + counts.errors
    return {
        "model": counts.model,
        "provider": counts.provider,
        "requests": counts.requests,
        "p50_latency_ms": None if p50_latency is None else round(p50_latency),
        "p50_ttft_ms": None if p50_ttft is None else round(p50_ttft),
        "throughput": round(counts.tokens * 1000 / counts.gen_ms, 1) if counts.gen_ms else None,
        "success_rate": round(counts.ok / finished, 4) if finished else None,
    }


async def get_stats(request: Request) -> Response:
    stats: EndpointStats = request.app.state.endpoint_stats
    return json_response({"data": await stats.current(), "window_hours": STATS_WINDOW_HOURS})


routes = [
    Route("/models", list_models, methods=["GET"]),
    Route("/models/{model_id:path}", get_model, methods=["GET"]),
]
# Under /api/v1 only, and ahead of /models/{model_id:path}, which would take "stats" for a model.
stats_routes = [Route("/models/stats", get_stats, methods=["GET"])]


def describe(model: Model, router: Router) -> dict[str, Any]:
    targets = router.targets(model)
    usable = {t.endpoint for t in targets}
    endpoints = []
    for endpoint in model.endpoints:
        provider = router.catalog.providers[endpoint.provider]
        entry: dict[str, Any] = {
            "provider": provider.id,
            "model": endpoint.model,
            "available": endpoint in usable,
            "context_length": endpoint.context_length or model.context_length,
            "pricing": _prices(endpoint.pricing),
            "trains_on_prompts": provider.trains_on_prompts,
        }
        if endpoint.list_pricing:
            entry["list_pricing"] = _prices(endpoint.list_pricing)
        endpoints.append(entry)
    # The price a request pays by default: that of the endpoint routing tries first.
    best = targets[0].endpoint if targets else model.endpoints[0]
    described: dict[str, Any] = {
        "id": model.id,
        "object": "model",
        "created": 0,
        "owned_by": model.id.split("/", 1)[0],
        "name": model.name,
        "aliases": model.aliases,
        "description": model.description,
        "context_length": model.context_length,
        "max_output_tokens": model.max_output_tokens,
        "architecture": {
            "input_modalities": model.input_modalities,
            "output_modalities": ["embeddings"] if model.kind == "embedding" else ["text"],
        },
        "pricing_unit": "USD per million tokens; request and image: USD each",
        "pricing": _prices(best.pricing),
        "available": bool(usable),
        "endpoints": endpoints,
        # The front doors that serve it: chat, messages, responses; or embeddings.
        "apis": list(model.apis),
    }
    if model.kind == "embedding":
        described["dimensions"] = model.dimensions
    return described


def _prices(pricing: Pricing | ListPricing) -> dict[str, str]:
    return {
        name: usd_str(value) for name, value in pricing.model_dump().items() if value is not None
    }


def listing(router: Router) -> list[dict[str, Any]]:
    return [describe(model, router) for model in router.catalog.models]
