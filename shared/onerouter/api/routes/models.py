"""GET /v1/models and /v1/models/{id}: what can be called, from whom, at what price."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...billing.money import usd_str
from ...routing.catalog import ListPricing, Model, Pricing
from ...routing.router import Router
from ..responses import json_response


async def list_models(request: Request) -> Response:
    return json_response({"object": "list", "data": request.app.state.models_listing})


async def get_model(request: Request) -> Response:
    state = request.app.state
    model = state.pipeline.router.model(request.path_params["model_id"])
    return json_response(state.models_by_id[model.id])


routes = [
    Route("/models", list_models, methods=["GET"]),
    Route("/models/{model_id:path}", get_model, methods=["GET"]),
]


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
    return {
        "id": model.id,
        "object": "model",
        "created": 0,
        "owned_by": model.id.split("/", 1)[0],
        "name": model.name,
        "aliases": model.aliases,
        "description": model.description,
        "context_length": model.context_length,
        "max_output_tokens": model.max_output_tokens,
        "architecture": {"input_modalities": model.input_modalities, "output_modalities": ["text"]},
        "pricing_unit": "USD per million tokens; request and image: USD each",
        "pricing": _prices(best.pricing),
        "available": bool(usable),
        "endpoints": endpoints,
    }


def _prices(pricing: Pricing | ListPricing) -> dict[str, str]:
    return {
        name: usd_str(value) for name, value in pricing.model_dump().items() if value is not None
    }


def listing(router: Router) -> list[dict[str, Any]]:
    return [describe(model, router) for model in router.catalog.models]
