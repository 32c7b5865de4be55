"""Embeddings' translations: OpenAI's base64 encoding, each protocol's request and answer, in
OpenAI's shape whatever the provider."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from onerouter.errors import InvalidRequest
from onerouter.providers.azure import deployment_url, to_azure_embedding_request
from onerouter.providers.base import Target, UpstreamError
from onerouter.providers.bedrock.adapter import url_for
from onerouter.providers.bedrock.embeddings import (
    from_cohere_response,
    from_titan_response,
    to_cohere_request,
    to_titan_request,
)
from onerouter.providers.embeddings import answer, from_base64, to_base64
from onerouter.providers.gemini.embeddings import from_batch_response, to_batch_request
from onerouter.providers.openai import from_embedding_response, to_embedding_request
from onerouter.requests import EmbeddingGatewayRequest, EmbeddingRequest
from onerouter.routing.catalog import Endpoint, Pricing, Provider


def request(**fields: Any) -> EmbeddingGatewayRequest:
    body = {"model": "test/embed", **fields}
    return EmbeddingGatewayRequest(EmbeddingRequest.model_validate(body), body)


def target(protocol: str = "openai", model: str = "text-embedding-3-small") -> Target:
    provider = Provider(id="p", protocol=protocol, base_url="https://p.test/v1")  # type: ignore[arg-type]
    pricing = Pricing(prompt="0.02", completion="0")  # type: ignore[arg-type]
    return Target("test/embed", provider, Endpoint(provider="p", model=model, pricing=pricing), "k")


def test_base64_is_openais_little_endian_float32() -> None:
    values = [0.5, -1.25, 3.0]
    encoded = to_base64(values)
    assert base64.b64decode(encoded) == struct.pack("<3f", *values)
    assert from_base64(encoded) == values


def test_openai_body_passes_through_without_the_gateways_fields() -> None:
    sent = to_embedding_request(
        request(input=["a"], dimensions=4, user="u", provider={"only": ["p"]}, extra="kept"),
        "text-embedding-3-small",
    )
    assert sent == {
        "model": "text-embedding-3-small",
        "input": ["a"],
        "dimensions": 4,
        "user": "u",
        "extra": "kept",
    }
    azure = to_azure_embedding_request(request(input="a"))
    assert azure == {"input": "a"}
    assert deployment_url(target("azure", "emb"), "embedding") == (
        "https://p.test/v1/openai/deployments/emb/embeddings?api-version=2024-10-21"
    )


def test_openai_answer_is_put_in_order_and_in_the_encoding_asked_for() -> None:
    data = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 1, "embedding": [1.0, 2.0]},
            {"object": "embedding", "index": 0, "embedding": [0.5, 0.25]},
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }
    asked = request(input=["a", "b"], encoding_format="base64")
    out = from_embedding_response(data, asked, target())
    assert [d["embedding"] for d in out["data"]] == [to_base64([0.5, 0.25]), to_base64([1, 2])]
    assert [d["index"] for d in out["data"]] == [0, 1]
    assert (out["model"], out["provider"], out["usage"]["prompt_tokens"]) == ("test/embed", "p", 3)
    # A provider answering base64 to a float request is decoded.
    floats = from_embedding_response(
        {"data": [{"index": 0, "embedding": to_base64([0.5])}]}, request(input="a"), target()
    )
    assert floats["data"][0]["embedding"] == [0.5] and "usage" not in floats


def test_an_answer_with_the_wrong_count_is_the_providers_fault() -> None:
    with pytest.raises(UpstreamError) as caught:
        from_embedding_response({"data": []}, request(input="a"), target())
    assert caught.value.kind == "protocol"


def test_gemini_batch_request_and_answer() -> None:
    asked = request(input=["one", "two"], dimensions=8)
    assert to_batch_request(asked, target("gemini", "gemini-embedding-001")) == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": text}]},
                "outputDimensionality": 8,
            }
            for text in ("one", "two")
        ]
    }
    out = from_batch_response(
        {"embeddings": [{"values": [0.5]}, {"values": [0.25]}]}, asked, target("gemini")
    )
    assert [d["embedding"] for d in out["data"]] == [[0.5], [0.25]]
    assert "usage" not in out  # Gemini counts nothing: the pipeline estimates
    with pytest.raises(InvalidRequest):
        to_batch_request(request(input=[1, 2]), target("gemini"))


def test_titan_request_and_answer() -> None:
    assert to_titan_request("hi", request(input="hi", dimensions=256)) == {
        "inputText": "hi",
        "dimensions": 256,
        "normalize": True,
    }
    assert to_titan_request("hi", request(input="hi")) == {"inputText": "hi", "normalize": True}
    vector, tokens = from_titan_response(
        {"embedding": [0.5], "inputTextTokenCount": 2}, target("bedrock")
    )
    assert (vector, tokens) == ([0.5], 2)
    with pytest.raises(UpstreamError):
        from_titan_response({"message": "no"}, target("bedrock"))
    assert url_for(target("bedrock", "amazon.titan-embed-text-v2:0"), False, "invoke") == (
        "https://p.test/v1/model/amazon.titan-embed-text-v2%3A0/invoke"
    )


def test_the_answer_shape() -> None:
    out = answer([[0.5, 0.25]], "float", target(), 2)
    assert out == {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
        "model": "test/embed",
        "provider": "p",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    with pytest.raises(UpstreamError):
        answer([["x"]], "float", target(), None)


def test_cohere_request_and_answer() -> None:
    assert to_cohere_request(["a", "b"], request(input=["a", "b"])) == {
        "texts": ["a", "b"],
        "input_type": "search_document",
    }
    asked = request(input="q", input_type="search_query")
    assert to_cohere_request(["q"], asked)["input_type"] == "search_query"
    with pytest.raises(InvalidRequest):
        to_cohere_request(["q"], request(input="q", dimensions=8))
    with pytest.raises(InvalidRequest):
        to_cohere_request(["q"], request(input="q", input_type="poetry"))
    cohere = target("bedrock", "cohere.embed-english-v3")
    assert from_cohere_response({"embeddings": [[0.5]]}, 1, cohere) == [[0.5]]
    assert from_cohere_response({"embeddings": {"float": [[0.5]]}}, 1, cohere) == [[0.5]]
    with pytest.raises(UpstreamError):
        from_cohere_response({"embeddings": []}, 1, cohere)


def test_a_host_that_counts_no_tokens_leaves_them_to_the_estimate() -> None:
    data = {"data": [{"index": 0, "embedding": [0.5]}], "usage": {"prompt_tokens": 0}}
    assert "usage" not in from_embedding_response(data, request(input="a"), target())
