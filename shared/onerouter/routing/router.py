"""From a model name to the ordered provider endpoints that may serve it.

Built once at start from the catalog and the credentials present, so per-request routing is
dictionary look-ups and a sort of a handful of endpoints.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from ..errors import ModelNotFound, NoProviderAvailable
from ..providers.base import Target
from .catalog import Catalog, Endpoint, Model, Provider


@dataclass(frozen=True, slots=True)
class Route:
    model: Model
    targets: tuple[Target, ...]


def _blended_price(endpoint: Endpoint) -> tuple[object, ...]:
    # A typical chat request reads about three times what it writes.
    pricing = endpoint.pricing
    return (pricing.prompt * 3 + pricing.completion, pricing.request)


class Router:
    def __init__(
        self,
        catalog: Catalog,
        environ: Mapping[str, str],
        protocols: Collection[str],
    ) -> None:
        self.catalog = catalog
        self._models = catalog.index()
        self._usable: dict[str, tuple[Target, ...]] = {}
        self._why_not: dict[str, str] = {}
        for model in catalog.models:
            targets = []
            reasons = []
            for endpoint in model.endpoints:
                provider = catalog.providers[endpoint.provider]
                reason = _unusable(provider, environ, protocols)
                if reason:
                    reasons.append(f"{provider.id}: {reason}")
                    continue
                api_key = environ.get(provider.api_key_env) if provider.api_key_env else None
                limit = endpoint.max_output_tokens or model.max_output_tokens
                targets.append(Target(model.id, provider, endpoint, api_key, limit))
            targets.sort(key=lambda t: _blended_price(t.endpoint))
            self._usable[model.id] = tuple(targets)
            self._why_not[model.id] = "; ".join(reasons)

    def protocols(self) -> set[str]:
        """The protocols some usable endpoint speaks: the only adapters worth loading."""
        return {t.provider.protocol for targets in self._usable.values() for t in targets}

    def model(self, name: str) -> Model:
        model = self._models.get(name)
        if model is None:
            raise ModelNotFound(
                f"The model {name!r} does not exist; GET /v1/models lists the models available.",
                param="model",
            )
        return model

    def targets(self, model: Model) -> tuple[Target, ...]:
        return self._usable[model.id]

    def route(self, name: str) -> Route:
        model = self.model(name)
        targets = self._usable[model.id]
        if not targets:
            raise NoProviderAvailable(
                f"No provider is available for {model.id} ({self._why_not[model.id]}).",
                param="model",
                headers={"Retry-After": "60"},
            )
        return Route(model, targets)


def _unusable(provider: Provider, environ: Mapping[str, str], protocols: Collection[str]) -> str:
    if provider.protocol not in protocols:
        return f"the {provider.protocol} protocol is not supported yet"
    if provider.api_key_env and not environ.get(provider.api_key_env):
        return f"{provider.api_key_env} is not set"
    return ""
