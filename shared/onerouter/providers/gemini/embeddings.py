"""Embeddings through Gemini's `models/{model}:batchEmbedContents`: one request per input
text, `outputDimensionality` for `dimensions`; the answer's `embeddings[].values` in order.
Gemini counts no tokens here, so the pipeline estimates them."""

from __future__ import annotations

from typing import Any

from ...requests import EmbeddingGatewayRequest
from .. import embeddings
from ..base import Target, UpstreamError


def to_batch_request(request: EmbeddingGatewayRequest, target: Target) -> dict[str, Any]:
    name = f"models/{target.endpoint.model}"
    dimensions = request.params.dimensions
    requests = []
    for text in embeddings.texts_of(request, target):
        item: dict[str, Any] = {"model": name, "content": {"parts": [{"text": text}]}}
        if dimensions is not None:
            item["outputDimensionality"] = dimensions
        requests.append(item)
    return {"requests": requests}


def from_batch_response(
    data: Any, request: EmbeddingGatewayRequest, target: Target
) -> dict[str, Any]:
    provider = target.provider.id
    found = data.get("embeddings") if isinstance(data, dict) else None
    if not isinstance(found, list) or not all(isinstance(e, dict) for e in found):
        raise UpstreamError(provider, "protocol", detail="no embeddings in the answer")
    expected = embeddings.count_inputs(request)
    if len(found) != expected:
        detail = f"{len(found)} embeddings for {expected} inputs"
        raise UpstreamError(provider, "protocol", detail=detail)
    vectors = [e.get("values") for e in found]
    return embeddings.answer(vectors, request.params.encoding_format, target, None)
