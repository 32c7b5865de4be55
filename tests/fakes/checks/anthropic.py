"""The Messages API: `anthropic.types.MessageCreateParams`, unknown fields refused."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict

from tests.fakes.checks.sdk import Invalid, checked, dotted, dropped_key


@functools.cache
def _message_create_params() -> TypeAdapter[Any]:
    from anthropic.types import MessageCreateParams

    return TypeAdapter(MessageCreateParams)


# Sampling parameters the API takes (from the models that still allow them) though the SDK's
# types (2.x) no longer list them.
class _Sampling(TypedDict, total=False):
    temperature: Annotated[float, Field(ge=0, le=1)]
    top_p: Annotated[float, Field(ge=0, le=1)]
    top_k: Annotated[int, Field(gt=0)]


_SAMPLING = TypeAdapter(_Sampling)


def anthropic_problem(body: dict[str, Any]) -> str | None:
    """The Messages API's `anthropic.types.MessageCreateParams`; unknown fields refused."""
    sampling = {k: v for k, v in body.items() if k in _Sampling.__annotations__}
    rest = {k: v for k, v in body.items() if k not in sampling}
    try:
        checked(_SAMPLING, sampling)
        kept = checked(_message_create_params(), rest)
    except Invalid as invalid:
        return invalid.explain(body)
    if (dropped := dropped_key(rest, kept)) is not None:
        return f"{dotted(body, dropped)}: Extra inputs are not permitted"
    return _messages_rules(body)


def _messages_rules(body: dict[str, Any]) -> str | None:
    """What the Messages API refuses that the SDK's types let through."""
    messages = body["messages"]
    if not messages:
        return "messages: at least one message is required"
    if _has_blank_text(body.get("system")):
        return "system: text content blocks must contain non-whitespace text"
    for i, message in enumerate(messages):
        final_assistant = i == len(messages) - 1 and message["role"] == "assistant"
        if not message["content"] and not final_assistant:
            return (
                f"messages.{i}: all messages must have non-empty content except for the optional"
                " final assistant message"
            )
        if _has_blank_text(message["content"]):
            return "messages: text content blocks must contain non-whitespace text"
    return thinking_rules(body)


def thinking_rules(body: dict[str, Any]) -> str | None:
    """Extended thinking's limits on the rest of the request."""
    thinking = body.get("thinking") or {}
    if thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens", 0)
    if budget < 1024:
        return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    if body.get("max_tokens", 0) <= budget:
        return "`max_tokens` must be greater than `thinking.budget_tokens`"
    if body.get("temperature", 1) != 1:
        return "`temperature` may only be set to 1 when thinking is enabled."
    if "top_k" in body:
        return "`top_k` cannot be set when thinking is enabled."
    if not 0.95 <= body.get("top_p", 1) <= 1:
        return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled."
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    return None


def _has_blank_text(blocks: Any) -> bool:
    if not isinstance(blocks, list):
        return False
    return any(block.get("type") == "text" and not block["text"].strip() for block in blocks)
