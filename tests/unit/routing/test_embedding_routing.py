"""Embedding models in the catalog and in routing: what they are, what they need, and that a
request never reaches a model of the other kind."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from onerouter.cache.key import cache_key
from onerouter.errors import InvalidRequest
from onerouter.providers import SUPPORTED_PROTOCOLS
from onerouter.requests import (
    ChatRequest,
    EmbeddingGatewayRequest,
    EmbeddingRequest,
    GatewayRequest,
)
from onerouter.routing.catalog import Catalog
from onerouter.routing.needs import needs_of
from onerouter.routing.router import Router

PROVIDERS = {
    "oai": {"protocol": "openai", "base_url": "https://oai", "api_key_env": "K"},
    "goo": {"protocol": "gemini", "base_url": "https://goo", "api_key_env": "K"},
    "ant": {"protocol": "anthropic", "base_url": "https://ant", "api_key_env": "K"},
}


def catalog(*models: dict[str, Any]) -> Catalog:
    return Catalog.model_validate({"providers": PROVIDERS, "models": list(models)})


def embed_model(model_id: str = "e", *providers: str, **more: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "name": model_id,
        "kind": "embedding",
        "context_length": 10,
        "endpoints": [
            {"provider": p, "model": f"{p}-e", "pricing": {"prompt": "0.02"}}
            for p in providers or ("oai",)
        ],
        **more,
    }


CHAT = {
    "id": "c",
    "name": "c",
    "context_length": 1000,
    "endpoints": [{"provider": "oai", "model": "m", "pricing": {"prompt": "1", "completion": "2"}}],
}


def embedding(**fields: Any) -> EmbeddingGatewayRequest:
    body = {"model": "e", **fields}
    return EmbeddingGatewayRequest(EmbeddingRequest.model_validate(body), body)


def router(*models: dict[str, Any]) -> Router:
    return Router(catalog(*models), {"K": "x"}, SUPPORTED_PROTOCOLS)


def test_an_embedding_model_needs_only_a_prompt_price() -> None:
    (model,) = catalog(embed_model(dimensions=8)).models
    assert model.kind == "embedding" and model.apis == ("embeddings",)
    assert model.endpoints[0].pricing.completion == 0 and model.dimensions == 8
    assert catalog(CHAT).models[0].apis == ("chat", "messages", "responses")
    chat_without_completion = {
        **CHAT,
        "endpoints": [{"provider": "oai", "model": "m", "pricing": {"prompt": "1"}}],
    }
    with pytest.raises(ValidationError):
        catalog(chat_without_completion)


def test_embedding_models_only_on_protocols_that_embed() -> None:
    with pytest.raises(ValidationError, match="serves no embeddings"):
        catalog(embed_model("e", "ant"))
    with pytest.raises(ValidationError, match="only embedding models"):
        catalog({**CHAT, "dimensions": 8})


def test_needs_of_an_embedding_request() -> None:
    needs = needs_of(embedding(input=["abcdefgh", "abc"], dimensions=4))
    assert (needs.prompt_tokens, needs.longest_input) == (3, 2)
    assert needs.parameters == {"dimensions"} and needs.essential == {"dimensions"}
    assert not needs.token_input
    tokens = needs_of(embedding(input=[[1, 2, 3], [4]]))
    assert (tokens.prompt_tokens, tokens.longest_input, tokens.token_input) == (4, 3, True)
    assert needs_of(embedding(input=[1, 2])).prompt_tokens == 2


def test_the_wrong_kind_is_a_400_naming_the_model() -> None:
    both = router(embed_model(), CHAT)
    with pytest.raises(InvalidRequest) as caught:
        both.plan(embedding(model="c", input="x"))
    assert caught.value.code == "wrong_model_kind" and "c is a chat model" in caught.value.message
    body = {"model": "e", "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(InvalidRequest) as caught:
        both.plan(GatewayRequest("chat", ChatRequest.model_validate(body), body))
    assert "e is an embedding model and serves embeddings" in caught.value.message
    with pytest.raises(InvalidRequest) as caught:
        both.plan(embedding(input="x", models=["c"]))
    assert caught.value.param == "models[0]"


def test_token_arrays_and_long_inputs() -> None:
    mixed = router(embed_model("e", "goo", "oai"))
    route = mixed.plan(embedding(input=[[1, 2]]))
    assert [t.provider.id for t in route.targets] == ["oai"]
    gemini_only = router(embed_model("e", "goo"))
    with pytest.raises(InvalidRequest) as caught:
        gemini_only.plan(embedding(input=[[1, 2]]))
    assert caught.value.param == "input" and "token arrays" in caught.value.message
    # Each input must fit the context (10 tokens here), not all of them together.
    assert gemini_only.plan(embedding(input=["x" * 40] * 5)).targets
    with pytest.raises(InvalidRequest) as caught:
        gemini_only.plan(embedding(input="x" * 60))
    assert caught.value.code == "context_length_exceeded" and caught.value.param == "input"


def test_the_cache_key_counts_input_size_and_encoding() -> None:
    def key(**fields: Any) -> str:
        return cache_key("acct", "e", embedding(**fields)).lookup

    assert key(input="a") == key(input="a", encoding_format="float", user="someone")
    assert key(input="a") != key(input="a", encoding_format="base64")
    assert key(input="a") != key(input="a", dimensions=4)
    assert key(input="a") != key(input=["a"])
    assert key(input="a") != key(input="b")


@pytest.mark.parametrize(
    "fields",
    [{"input": []}, {"input": ""}, {"input": ["a", ""]}, {"input": "a", "dimensions": 0}],
)
def test_invalid_embedding_requests(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EmbeddingRequest.model_validate({"model": "e", **fields})
