"""Deterministic embeddings for the fake providers: the same text always gets the same vector,
and every value is a multiple of 1/256, exact in float32 (so base64 round trips are exact)."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence
from typing import Any

DEFAULT_DIMENSIONS = 8


def vector_of(item: Any, dimensions: int | None = None) -> list[float]:
    """The fake's embedding of one input (a text, or a token array)."""
    size = dimensions or DEFAULT_DIMENSIONS
    seed = repr(item).encode()
    digest = b""
    counter = 0
    while len(digest) < size:
        digest += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return [(byte - 128) / 256 for byte in digest[:size]]


def to_base64(values: Sequence[float]) -> str:
    """As OpenAI sends `encoding_format: "base64"`: little-endian float32, base64."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def inputs_of(given: Any) -> list[Any]:
    """OpenAI's `input` as a list of inputs (a text, texts, a token array or token arrays)."""
    if isinstance(given, str):
        return [given]
    if isinstance(given, list) and given and all(isinstance(i, int) for i in given):
        return [given]
    return list(given) if isinstance(given, list) else []


def tokens_of(item: Any) -> int:
    """Words of a text, or the length of a token array."""
    return len(item) if isinstance(item, list) else len(str(item).split())
