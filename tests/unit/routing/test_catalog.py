"""The model catalog: the shipped one loads exactly; broken ones say where and why."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from onerouter.routing.catalog import (
    Catalog,
    CatalogError,
    ListPricing,
    Pricing,
    load_catalog,
)
from onerouter.settings import DEFAULT_CATALOG

VALID = """\
providers:
  acme:
    protocol: openai
    base_url: https://api.acme.test/v1
    api_key_env: ACME_API_KEY
  local:
    protocol: openai
    base_url: http://127.0.0.1:9/v1
models:
  - id: acme/small
    name: Acme Small
    aliases: [small, acme-small]
    context_length: 8192
    endpoints:
      - provider: acme
        model: small-2024
        pricing:
          prompt: "0.15"
          completion: "0.6"
  - id: acme/large
    name: Acme Large
    aliases: [large]
    context_length: 128000
    endpoints:
      - provider: local
        model: large
        pricing:
          prompt: "2"
          completion: "8"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def variant(old: str, new: str) -> str:
    assert VALID.count(old) == 1, f"{old!r} must occur once in VALID"
    return VALID.replace(old, new)


def catalog_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert str(path) in message, "the message must name the file"
    return message


def all_prices(catalog: Catalog) -> list[object]:
    prices: list[object] = []
    for model in catalog.models:
        for endpoint in model.endpoints:
            prices += [getattr(endpoint.pricing, name) for name in Pricing.model_fields]
            if endpoint.list_pricing is not None:
                lp = endpoint.list_pricing
                prices += [getattr(lp, name) for name in ListPricing.model_fields]
    return [price for price in prices if price is not None]


# ---------------------------------------------------------------- the shipped catalog


def test_default_catalog_loads_with_every_price_an_exact_decimal() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)

    assert catalog.models, "the shipped catalog has models"
    prices = all_prices(catalog)
    assert prices
    assert all(type(price) is Decimal for price in prices)
    assert all(price.is_finite() and price >= 0 for price in prices)  # type: ignore[attr-defined]


def test_default_catalog_prices_are_exactly_what_is_written() -> None:
    model = load_catalog(DEFAULT_CATALOG).index()["gpt-4o-mini"]

    pricing = model.endpoints[0].pricing
    assert pricing.prompt == Decimal("0.15")
    assert str(pricing.prompt) == "0.15"
    assert pricing.input_cache_read == Decimal("0.075")
    assert pricing.request == Decimal(0)


def test_default_catalog_endpoints_name_known_providers_with_their_ids() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)

    for provider_id, provider in catalog.providers.items():
        assert provider.id == provider_id
    for model in catalog.models:
        for endpoint in model.endpoints:
            assert endpoint.provider in catalog.providers


# ---------------------------------------------------------------- a valid catalog


def test_valid_catalog_loads(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, VALID))

    assert [model.id for model in catalog.models] == ["acme/small", "acme/large"]
    assert catalog.providers["acme"].id == "acme"
    assert catalog.providers["acme"].api_key_env == "ACME_API_KEY"
    assert catalog.providers["local"].api_key_env is None
    assert catalog.models[0].endpoints[0].pricing.completion == Decimal("0.6")
    assert catalog.models[0].input_modalities == ["text"]


def test_integer_prices_are_exact(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, variant('prompt: "2"', "prompt: 2")))

    assert catalog.models[1].endpoints[0].pricing.prompt == Decimal(2)


def test_index_maps_ids_and_aliases_to_their_model(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, VALID))
    index = catalog.index()

    small, large = catalog.models
    assert index["acme/small"] is small
    assert index["small"] is small
    assert index["acme-small"] is small
    assert index["acme/large"] is large
    assert index["large"] is large
    assert set(index) == {"acme/small", "small", "acme-small", "acme/large", "large"}
    assert "acme" not in index


# ---------------------------------------------------------------- invalid catalogs


def test_float_price_is_refused(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, variant('prompt: "0.15"', "prompt: 0.15"))

    assert "acme/small" in message
    assert "pricing.prompt" in message
    assert "quoted" in message


@pytest.mark.parametrize("price", ['"-1"', "-3", '"abc"', '"NaN"', '"Infinity"', "true"])
def test_price_that_is_not_a_non_negative_number_is_refused(tmp_path: Path, price: str) -> None:
    message = catalog_error(tmp_path, variant('completion: "8"', f"completion: {price}"))

    assert "acme/large" in message
    assert "pricing.completion" in message


def test_negative_price_message_says_why(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, variant('completion: "8"', 'completion: "-0.5"'))

    assert "acme/large" in message
    assert "pricing.completion" in message
    assert "non-negative" in message


def test_endpoint_naming_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, variant("provider: local", "provider: nowhere"))

    assert "acme/large" in message
    assert "endpoints[0].provider" in message
    assert "'nowhere'" in message


def test_duplicated_alias_is_refused(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, variant("aliases: [large]", "aliases: [small]"))

    assert "acme/large" in message
    assert "'small'" in message
    assert "acme/small" in message, "the message names the model already using the name"


def test_duplicated_alias_message_names_the_field(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, variant("aliases: [large]", "aliases: [small]"))

    assert "aliases" in message


def test_alias_equal_to_another_models_id_is_refused(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, variant("aliases: [large]", "aliases: [acme/small]"))

    assert "acme/large" in message
    assert "'acme/small'" in message


def test_unknown_model_key_is_refused(tmp_path: Path) -> None:
    message = catalog_error(
        tmp_path,
        variant("    context_length: 128000\n", "    context_length: 128000\n    colour: red\n"),
    )

    assert "acme/large" in message
    assert "colour" in message


def test_unknown_pricing_key_is_refused(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, variant('prompt: "2"', 'prompt: "2"\n          promt: "3"'))

    assert "acme/large" in message
    assert "pricing.promt" in message


def test_unknown_provider_key_is_refused(tmp_path: Path) -> None:
    message = catalog_error(
        tmp_path, variant("api_key_env: ACME_API_KEY", "api_key_env: ACME_API_KEY\n    region: eu")
    )

    assert "providers.acme.region" in message


def test_unknown_protocol_is_refused(tmp_path: Path) -> None:
    message = catalog_error(
        tmp_path,
        variant(
            "protocol: openai\n    base_url: https://api",
            "protocol: soap\n    base_url: https://api",
        ),
    )

    assert "providers.acme.protocol" in message


def test_missing_context_length_is_refused(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, variant("    context_length: 8192\n", ""))

    assert "acme/small" in message
    assert "context_length" in message
    assert "required" in message.lower()


def test_model_without_endpoints_is_refused(tmp_path: Path) -> None:
    text = VALID + "  - id: acme/empty\n    name: Empty\n    context_length: 1\n    endpoints: []\n"
    message = catalog_error(tmp_path, text)

    assert "acme/empty" in message
    assert "endpoints" in message


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    message = catalog_error(tmp_path, "providers: [unclosed\nmodels: {\n")

    assert "not valid YAML" in message
    assert "line" in message


def test_empty_file_is_refused(tmp_path: Path) -> None:
    catalog_error(tmp_path, "")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "no-such-catalog.yaml"

    with pytest.raises(CatalogError) as caught:
        load_catalog(path)

    assert str(path) in str(caught.value)
    assert "cannot read" in str(caught.value)


def test_catalog_error_is_a_value_error() -> None:
    assert issubclass(CatalogError, ValueError)
