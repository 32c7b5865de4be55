"""Embeddings on Bedrock through InvokeModel, in each model family's own body.

Amazon Titan Text Embeddings (v2: `{inputText, dimensions, normalize}`, answer `{embedding,
inputTextTokenCount}`) takes one text per call, so a list of inputs is several calls, a few at
a time. Cohere Embed (`cohere.embed-*`: `{texts, input_type}`, answer `{embeddings}`) takes up
to 96 texts a call and says no token count in its body, so those are estimated."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...requests import EmbeddingGatewayRequest
from ..base import Target, UpstreamError

# Calls in flight at once for one request's inputs.
CONCURRENCY = 8
# Cohere Embed's most texts in one call.
COHERE_BATCH = 96
_COHERE_INPUT_TYPES = frozenset({"search_document", "search_query", "classification", "clustering"})


def is_cohere(target: Target) -> bool:
    return "cohere.embed" in target.endpoint.model


def to_cohere_request(texts: list[str], request: EmbeddingGatewayRequest) -> dict[str, Any]:
    """Cohere's `input_type` (required) may be given as an extra field; documents by default,
    what OpenAI-style callers mostly embed."""
    if request.params.dimensions is not None:
        raise InvalidRequest(
            "dimensions: Cohere Embed on Bedrock has a fixed output size.", param="dimensions"
        )
    input_type = request.raw.get("input_type", "search_document")
    if input_type not in _COHERE_INPUT_TYPES:
        known = ", ".join(sorted(_COHERE_INPUT_TYPES))
        raise InvalidRequest(f"input_type: one of {known}.", param="input_type")
    return {"texts": texts, "input_type": input_type}


def from_cohere_response(data: Any, count: int, target: Target) -> list[Any]:
    found = data.get("embeddings") if isinstance(data, dict) else None
    if isinstance(found, dict):  # asked by type: `{"float": [...]}`
        found = found.get("float")
    if not isinstance(found, list) or len(found) != count:
        raise UpstreamError(target.provider.id, "protocol", detail="embeddings missing")
    return found


def to_titan_request(text: str, request: EmbeddingGatewayRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"inputText": text}
    if request.params.dimensions is not None:
        body["dimensions"] = request.params.dimensions
    # OpenAI's embeddings are unit vectors; Titan's are when asked (its default, said anyway).
    body["normalize"] = True
    return body


def from_titan_response(data: Any, target: Target) -> tuple[list[float], int | None]:
    """The vector and Titan's token count of one input."""
    vector = data.get("embedding") if isinstance(data, dict) else None
    if not isinstance(vector, list):
        raise UpstreamError(target.provider.id, "protocol", detail="no embedding in the answer")
    tokens = data.get("inputTextTokenCount")
    counted = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None
    return vector, counted
