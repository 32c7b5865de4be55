"""Chat Completions and legacy Completions: the `openai` SDK's `CompletionCreateParams`."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter

from tests.fakes.checks.sdk import Invalid, checked


@functools.cache
def _openai_params(chat: bool) -> TypeAdapter[Any]:
    from openai.types import CompletionCreateParams
    from openai.types.chat import CompletionCreateParams as ChatCompletionCreateParams

    return TypeAdapter(ChatCompletionCreateParams if chat else CompletionCreateParams)


def openai_problem(body: dict[str, Any], chat: bool = True) -> str | None:
    """Chat Completions' (or legacy Completions') `CompletionCreateParams`. Unknown fields
    pass: OpenAI-compatible hosts take their own, and the gateway passes them through."""
    try:
        checked(_openai_params(chat), body)
    except Invalid as invalid:
        return invalid.explain(body)
    return None


_INPUT: TypeAdapter[Any] = TypeAdapter(str | list[str] | list[int] | list[list[int]])


@functools.cache
def _embedding_params() -> TypeAdapter[Any]:
    from openai.types import EmbeddingCreateParams

    return TypeAdapter(EmbeddingCreateParams)


def openai_embedding_problem(body: dict[str, Any]) -> str | None:
    """The `openai` SDK's `EmbeddingCreateParams`, and what the API refuses beyond its types:
    an empty input, a non-positive `dimensions`."""
    # `input`'s union has lazily checked `Iterable` members: pydantic would take a list of
    # token arrays as an `Iterable[int]` and fail it only when iterated. Its members, eagerly.
    given = body.get("input")
    try:
        checked(_embedding_params(), {**body, "input": "x"} if "input" in body else body)
        checked(_INPUT, given, ("input",))
    except Invalid as invalid:
        return invalid.explain(body)
    if given in ("", []) or (isinstance(given, list) and any(i in ("", []) for i in given)):
        return "'$.input' is invalid. Please check the API reference."
    dimensions = body.get("dimensions")
    if dimensions is not None and (not isinstance(dimensions, int) or dimensions < 1):
        return "Invalid 'dimensions': integer below minimum value."
    return None
