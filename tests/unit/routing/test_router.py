"""Routing: from a model name to its usable endpoints, cheapest first."""

from __future__ import annotations

from typing import Any

import pytest

from onerouter.errors import ModelNotFound, NoProviderAvailable
from onerouter.providers import SUPPORTED_PROTOCOLS
from onerouter.routing.catalog import Catalog, load_catalog
from onerouter.routing.router import Router
from onerouter.settings import DEFAULT_CATALOG

OPENAI_ONLY = frozenset({"openai"})


def endpoint(provider: str, prompt: str, completion: str, request: str = "0") -> dict[str, Any]:
    return {
        "provider": provider,
        "model": f"{provider}-model",
        "pricing": {"prompt": prompt, "completion": completion, "request": request},
    }


def model(model_id: str, *endpoints: dict[str, Any], aliases: tuple[str, ...] = ()) -> dict:
    return {
        "id": model_id,
        "name": model_id,
        "aliases": list(aliases),
        "context_length": 8192,
        "endpoints": list(endpoints),
    }


CATALOG = Catalog.model_validate(
    {
        "providers": {
            "cheap": {"protocol": "openai", "base_url": "https://cheap", "api_key_env": "CHEAP"},
            "dear": {"protocol": "openai", "base_url": "https://dear", "api_key_env": "DEAR"},
            "local": {"protocol": "openai", "base_url": "http://127.0.0.1:9"},
            "claude": {
                "protocol": "anthropic",
                "base_url": "https://claude",
                "api_key_env": "CLAUDE",
            },
        },
        "models": [
            model(
                "t/multi",
                endpoint("dear", "10", "30"),
                endpoint("local", "2", "6"),
                endpoint("cheap", "1", "2"),
                aliases=("multi", "multi-latest"),
            ),
            model("t/dear-only", endpoint("dear", "1", "1")),
            model("t/claude-only", endpoint("claude", "1", "1")),
            model("t/keyless", endpoint("local", "1", "1")),
            # A typical request reads three times what it writes: 3 * 1 + 6 < 3 * 3 + 1,
            # though 3 + 1 < 1 + 6 (a plain sum would put "dear" first).
            model("t/blend", endpoint("dear", "3", "1"), endpoint("cheap", "1", "6")),
            # Same token prices: the per-request price breaks the tie.
            model("t/tie", endpoint("dear", "1", "1", request="0.01"), endpoint("cheap", "1", "1")),
        ],
    }
)

ENV = {"CHEAP": "sk-cheap", "DEAR": "sk-dear", "CLAUDE": "sk-claude"}


def providers_of(router: Router, name: str) -> list[str]:
    return [target.provider.id for target in router.route(name).targets]


def test_endpoints_are_ordered_cheapest_first() -> None:
    router = Router(CATALOG, ENV, OPENAI_ONLY)

    assert providers_of(router, "t/multi") == ["cheap", "local", "dear"]


def test_order_weighs_prompt_and_completion_prices_together() -> None:
    router = Router(CATALOG, ENV, OPENAI_ONLY)

    assert providers_of(router, "t/blend") == ["cheap", "dear"]


def test_per_request_price_breaks_a_tie() -> None:
    router = Router(CATALOG, ENV, OPENAI_ONLY)

    assert providers_of(router, "t/tie") == ["cheap", "dear"]


def test_targets_carry_the_model_endpoint_and_credential() -> None:
    router = Router(CATALOG, ENV, OPENAI_ONLY)

    route = router.route("t/multi")
    assert route.model.id == "t/multi"
    first = route.targets[0]
    assert first.model_id == "t/multi"
    assert first.provider is CATALOG.providers["cheap"]
    assert first.endpoint.model == "cheap-model"
    assert first.api_key == "sk-cheap"
    assert router.targets(route.model) == route.targets


def test_provider_whose_key_is_unset_is_skipped() -> None:
    router = Router(CATALOG, {"DEAR": "sk-dear"}, OPENAI_ONLY)

    assert providers_of(router, "t/multi") == ["local", "dear"]


def test_provider_whose_key_is_empty_is_skipped() -> None:
    router = Router(CATALOG, {"CHEAP": "", "DEAR": "sk-dear"}, OPENAI_ONLY)

    assert providers_of(router, "t/multi") == ["local", "dear"]


def test_provider_whose_protocol_is_unsupported_is_skipped() -> None:
    router = Router(CATALOG, ENV, OPENAI_ONLY)

    with pytest.raises(NoProviderAvailable) as caught:
        router.route("t/claude-only")

    assert "anthropic protocol is not supported" in caught.value.message
    assert "claude" in caught.value.message


def test_supported_protocol_makes_the_provider_usable() -> None:
    router = Router(CATALOG, ENV, {"openai", "anthropic"})

    route = router.route("t/claude-only")
    assert [t.api_key for t in route.targets] == ["sk-claude"]


def test_keyless_provider_is_usable_without_a_key() -> None:
    router = Router(CATALOG, {}, OPENAI_ONLY)

    targets = router.route("t/keyless").targets
    assert [t.provider.id for t in targets] == ["local"]
    assert targets[0].api_key is None


def test_alias_routes_to_its_model() -> None:
    router = Router(CATALOG, ENV, OPENAI_ONLY)

    by_alias = router.route("multi-latest")
    assert by_alias.model.id == "t/multi"
    assert by_alias.targets == router.route("t/multi").targets
    assert router.model("multi").id == "t/multi"


def test_unknown_model_is_404_naming_the_model_param() -> None:
    router = Router(CATALOG, ENV, OPENAI_ONLY)

    with pytest.raises(ModelNotFound) as caught:
        router.route("t/nope")

    error = caught.value
    assert error.status == 404
    assert error.param == "model"
    assert error.code == "model_not_found"
    assert "'t/nope'" in error.message
    assert error.body()["error"]["param"] == "model"


def test_model_with_no_usable_endpoint_is_503_saying_why() -> None:
    router = Router(CATALOG, {}, OPENAI_ONLY)

    with pytest.raises(NoProviderAvailable) as caught:
        router.route("t/dear-only")

    error = caught.value
    assert error.status == 503
    assert error.code == "no_provider_available"
    assert int(error.headers["Retry-After"]) > 0
    assert "t/dear-only" in error.message
    assert "DEAR is not set" in error.message


def test_unusable_model_is_still_known() -> None:
    router = Router(CATALOG, {}, OPENAI_ONLY)

    assert router.model("t/dear-only").id == "t/dear-only"
    assert router.targets(router.model("t/dear-only")) == ()


def test_routing_is_fixed_at_construction() -> None:
    environ = {"CHEAP": "sk-cheap"}
    router = Router(CATALOG, environ, OPENAI_ONLY)
    environ["DEAR"] = "sk-dear"

    assert providers_of(router, "t/multi") == ["cheap", "local"]


def test_shipped_catalog_routes_openai_models_with_an_openai_key() -> None:
    router = Router(load_catalog(DEFAULT_CATALOG), {"OPENAI_API_KEY": "sk"}, SUPPORTED_PROTOCOLS)

    route = router.route("gpt-4o")
    assert route.model.id == "openai/gpt-4o"
    # Azure serves gpt-4o too, but its protocol is not built yet (and its key is unset).
    assert [t.provider.id for t in route.targets] == ["openai"]
    with pytest.raises(NoProviderAvailable):
        router.route("claude-sonnet-4")
