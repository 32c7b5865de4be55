"""From a model name to the ordered provider endpoints that may serve it.

Built once at start from the catalog and the credentials present, so per-request routing is
dictionary look-ups and a sort of a handful of endpoints.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from ..errors import InvalidRequest, ModelNotFound, NoProviderAvailable, NotFound
from ..providers.base import Target
from ..requests import AnyRequest, EmbeddingGatewayRequest, ProviderPreferences
from .catalog import Catalog, Endpoint, Model, Provider
from .choose import Refusal, choose
from .health import Health
from .needs import Needs, needs_of
from .own_keys import NONE, OwnKeys

_NO_PREFERENCES = ProviderPreferences()


@dataclass(frozen=True, slots=True)
class Route:
    """The model asked for, and the endpoints to try in order (the fallback models' included:
    each target names the model it serves)."""

    model: Model
    targets: tuple[Target, ...]
    # What the request needs, worked out while routing (None: routed by name alone).
    needs: Needs | None = None


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
        health: Health | None = None,
    ) -> None:
        self.catalog = catalog
        self.health = health or Health()
        self._models = catalog.index()
        self._providers = {name.lower(): name for name in catalog.providers}
        self._usable: dict[str, tuple[Target, ...]] = {}
        # Every endpoint a supported protocol reaches, with no credential: for the caller's
        # own keys (a provider without a shared key serves those too).
        self._reachable: dict[str, tuple[Target, ...]] = {}
        self._why_not: dict[str, str] = {}
        for model in catalog.models:
            reachable = []
            usable = []
            reasons = []
            for endpoint in model.endpoints:
                provider = catalog.providers[endpoint.provider]
                limit = endpoint.max_output_tokens or model.max_output_tokens
                target = Target(model.id, provider, endpoint, None, limit)
                if provider.protocol in protocols:
                    reachable.append(target)
                reason = _unusable(provider, environ, protocols)
                if reason:
                    reasons.append(f"{provider.id}: {reason}")
                    continue
                api_key = environ.get(provider.api_key_env) if provider.api_key_env else None
                usable.append(replace(target, api_key=api_key))
            usable.sort(key=lambda t: _blended_price(t.endpoint))
            self._reachable[model.id] = tuple(reachable)
            self._usable[model.id] = tuple(usable)
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

    def provider_names(self) -> Mapping[str, str]:
        """The catalog's provider ids by their lower-case spelling."""
        return self._providers

    def plan(self, request: AnyRequest, allow_training: bool = False, own: OwnKeys = NONE) -> Route:
        """The endpoints to try for this request, best first: its model's, then those of its
        fallback `models`, each list filtered and ordered by the caller's preferences. The
        caller's own keys (`own`) go first, each model's endpoints they reach before the shared
        ones; a shared endpoint serves only where the own key allows it."""
        params = request.params
        preferences = self._named(params.provider) if params.provider else _NO_PREFERENCES
        if preferences.data_collection is not None:
            allow_training = preferences.data_collection == "allow"
        needs = needs_of(request)
        kind = "embedding" if isinstance(request, EmbeddingGatewayRequest) else "chat"
        first = self.model(params.model)
        _check_kind(first, kind, "model")
        models = [first]
        fallbacks = params.models or params.fallback_models or ()
        field = "models" if params.models else "fallback_models"
        for i, name in enumerate(fallbacks):
            model = self._models.get(name)
            if model is None:
                raise ModelNotFound(
                    f"{field}[{i}]: the model {name!r} does not exist.", param=f"{field}[{i}]"
                )
            _check_kind(model, kind, f"{field}[{i}]")
            if model not in models:
                models.append(model)
        targets: list[Target] = []
        refused: list[tuple[Model, Refusal]] = []
        if own.named is not None and own.named not in self.catalog.providers:
            known = ", ".join(sorted(self.catalog.providers))
            raise InvalidRequest(
                f"byok_conf.provider: unknown provider {own.named!r}; known: {known}.",
                param="byok_conf.provider",
            )
        for model in models:
            usable = self._usable[model.id]
            if own:
                mine = tuple(
                    replace(t, api_key=own.keys[t.provider.id].api_key, byok=True)
                    for t in self._reachable[model.id]
                    if t.provider.id in own.keys
                )
                chosen, refusals = choose(
                    mine, model, needs, preferences, allow_training, self.health
                )
                targets += chosen
                refused += [(model, r) for r in refusals]
                usable = tuple(t for t in usable if own.shared_may_serve(t.provider.id))
            chosen, refusals = choose(
                usable, model, needs, preferences, allow_training, self.health
            )
            targets += chosen
            refused += [(model, r) for r in refusals]
        if targets:
            return Route(first, tuple(targets), needs)
        if own.only and not refused:
            names = ", ".join(m.id for m in models)
            raise InvalidRequest(
                f"byok_conf.provider: {own.named} serves none of {names}, and byok_conf.fallback "
                "is false, so no other provider may.",
                code="byok_provider_mismatch",
                param="byok_conf.provider",
            )
        if not refused:
            raise NoProviderAvailable(
                f"No provider is available for {first.id} ({self._why_not[first.id]}).",
                param="model",
                headers={"Retry-After": "60"},
            )
        reasons = "; ".join(f"{r.provider} for {m.id}: {r.reason}" for m, r in refused)
        if kind == "embedding" and all(r.kind == "input" for _, r in refused):
            raise InvalidRequest(
                f"input: {first.id} takes text only here, not token arrays ({reasons}).",
                param="input",
            )
        if all(r.kind == "input" for _, r in refused):
            # The first part of a kind no endpoint takes names the problem (or, when each
            # endpoint lacks a different kind, of any kind one lacks).
            refused_kinds = frozenset.intersection(*(r.inputs for _, r in refused)) or (
                frozenset.union(*(r.inputs for _, r in refused))
            )
            i, j, kind = min(needs.parts[m] for m in refused_kinds if m in needs.parts)
            where = f"messages[{i}].content[{j}]"
            raise InvalidRequest(
                f"{where}: content part of type {kind!r} is not supported by {first.id}"
                f" ({reasons}).",
                param=where,
            )
        if all(r.kind == "context" for _, r in refused):
            raise InvalidRequest(
                f"The request is too long for every endpoint: {reasons}.",
                code="context_length_exceeded",
                param="input" if kind == "embedding" else "messages",
            )
        raise NotFound(
            f"No endpoint for {first.id} matches this request: {reasons}.",
            code="no_endpoints_match",
        )

    def _named(self, preferences: ProviderPreferences) -> ProviderPreferences:
        """The preferences with provider names as the catalog spells them (any case)."""
        names: dict[str, list[str]] = {}
        for field in ("order", "only", "ignore"):
            given: list[str] | None = getattr(preferences, field)
            if given is None:
                continue
            names[field] = []
            for i, name in enumerate(given):
                provider = self._providers.get(name.lower())
                if provider is None:
                    known = ", ".join(sorted(self.catalog.providers))
                    raise InvalidRequest(
                        f"provider.{field}[{i}]: unknown provider {name!r}; known: {known}.",
                        param=f"provider.{field}[{i}]",
                    )
                names[field].append(provider)
        return preferences.model_copy(update=names) if names else preferences


# What each kind of request is called in a wrong-kind error.
_DOORS = {"chat": "chat requests", "embedding": "embeddings requests"}


def _check_kind(model: Model, kind: str, param: str) -> None:
    """A chat request never goes to an embedding model, nor an embeddings request to a chat
    model: that is the caller's mistake, said plainly, not a provider's 400."""
    if model.kind == kind:
        return
    raise InvalidRequest(
        f"{param}: {model.id} is {'an embedding' if model.kind == 'embedding' else 'a chat'} "
        f"model and serves {', '.join(model.apis)}, not {_DOORS[kind]}.",
        code="wrong_model_kind",
        param=param,
    )


def _unusable(provider: Provider, environ: Mapping[str, str], protocols: Collection[str]) -> str:
    if provider.protocol not in protocols:
        return f"the {provider.protocol} protocol is not supported yet"
    if provider.api_key_env and not environ.get(provider.api_key_env):
        return f"{provider.api_key_env} is not set"
    return ""
