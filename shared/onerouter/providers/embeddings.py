"""Embeddings in OpenAI's shape, whatever the provider: vectors as floats or as OpenAI encodes
them in base64 (the little-endian float32 bytes), and the answer every adapter returns."""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidRequest
from ..requests import EmbeddingGatewayRequest
from .base import Target, UpstreamError

Vector = list[float] | str  # floats, or base64 of little-endian float32


def to_base64(values: Sequence[float]) -> str:
    """`values` as OpenAI's `encoding_format: "base64"` sends them."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


def from_base64(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) // 4 * 4]))


def encoded(vector: Any, encoding: str, provider: str) -> Vector:
    """One vector from a provider (floats or base64) in the encoding the caller asked for."""
    if isinstance(vector, str):
        try:
            return vector if encoding == "base64" else from_base64(vector)
        except (ValueError, struct.error):
            raise UpstreamError(provider, "protocol", detail="bad base64 embedding") from None
    if not isinstance(vector, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in vector
    ):
        raise UpstreamError(provider, "protocol", detail="an embedding is not a list of numbers")
    return to_base64(vector) if encoding == "base64" else [float(v) for v in vector]


def answer(
    vectors: Sequence[Any], encoding: str, target: Target, prompt_tokens: int | None
) -> dict[str, Any]:
    """OpenAI's CreateEmbeddingResponse for `vectors`, in order; `usage` is left out when the
    provider counted nothing (the pipeline estimates it)."""
    provider = target.provider.id
    body: dict[str, Any] = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encoded(v, encoding, provider)}
            for i, v in enumerate(vectors)
        ],
        "model": target.model_id,
        "provider": provider,
    }
    if prompt_tokens is not None:
        body["usage"] = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    return body


def texts_of(request: EmbeddingGatewayRequest, target: Target) -> list[str]:
    """The inputs as texts, for providers that take no token arrays (routing already keeps
    token arrays away from them; this is the last word if it did not)."""
    texts = request.params.texts
    if texts is None:
        raise InvalidRequest(
            f"input: {target.model_id} on {target.provider.id} takes text only, not token arrays.",
            param="input",
        )
    return texts


def count_inputs(request: EmbeddingGatewayRequest) -> int:
    given = request.params.input
    if isinstance(given, str) or all(isinstance(item, int) for item in given):
        return 1
    return len(given)
