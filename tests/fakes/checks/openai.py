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
