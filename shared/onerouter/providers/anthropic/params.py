"""OpenAI parameters → Anthropic's: output budget, tools and tool choice, structured output,
extended thinking."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...requests import ChatRequest, GatewayRequest
from ..base import Target

DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024
MIN_THINKING_TOP_P = 0.95
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
# The forced tool that carries `response_format` JSON; its input comes back as the content.
JSON_TOOL = "json_output"

Block = dict[str, Any]


def max_tokens(request: GatewayRequest, target: Target) -> int:
    params = request.params
    asked = getattr(params, "max_completion_tokens", None) or params.max_tokens
    return asked or target.max_output_tokens or DEFAULT_MAX_TOKENS


def add_tools(body: dict[str, Any], params: ChatRequest, model: str) -> None:
    tools: list[Block] = []
    for k, tool in enumerate(params.tools or ()):
        if tool.type != "function":
            raise InvalidRequest(f"tools[{k}]: type {tool.type!r} is not supported by {model}")
        spec: Block = {"name": tool.function.name}
        if tool.function.description:
            spec["description"] = tool.function.description
        spec["input_schema"] = tool.function.parameters or {"type": "object", "properties": {}}
        cache_control = (tool.model_extra or {}).get("cache_control")
        if cache_control is not None:  # a cache breakpoint after the tools
            spec["cache_control"] = cache_control
        tools.append(spec)
    choice = _tool_choice(params.tool_choice, model)
    schema = _json_schema(params)
    if schema is not None:
        tools.append(
            {"name": JSON_TOOL, "description": "Respond with this JSON.", "input_schema": schema}
        )
        if not params.tools:
            choice = {"type": "tool", "name": JSON_TOOL}
    if not tools:
        return
    body["tools"] = tools
    if params.parallel_tool_calls is False and (choice or {}).get("type") != "none":
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    if choice is not None:
        body["tool_choice"] = choice


def _tool_choice(choice: str | dict[str, Any] | None, model: str) -> Block | None:
    if choice is None:
        return None
    named = {"auto": "auto", "none": "none", "required": "any"}
    if isinstance(choice, str) and choice in named:
        return {"type": named[choice]}
    if isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        return {"type": "tool", "name": choice["function"]["name"]}
    raise InvalidRequest(f"tool_choice {choice!r} is not supported by {model}", param="tool_choice")


def _json_schema(params: ChatRequest) -> Block | None:
    response_format = params.response_format
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_schema":
        spec = (response_format.model_extra or {}).get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            return schema
    return {"type": "object"}


def _thinking_budget(request: GatewayRequest) -> int | None:
    reasoning = request.params.reasoning
    effort = getattr(request.params, "reasoning_effort", None)
    if reasoning is not None:
        if reasoning.enabled is False or reasoning.effort == "none":
            return None
        if reasoning.max_tokens is not None:
            return max(reasoning.max_tokens, MIN_THINKING_BUDGET) if reasoning.max_tokens else None
        effort = reasoning.effort or effort or ("medium" if reasoning.enabled else None)
    if effort is None or effort == "none":
        return None
    return THINKING_BUDGETS[effort]


def add_thinking(body: dict[str, Any], request: GatewayRequest, target: Target) -> None:
    budget = _thinking_budget(request)
    if budget is None:
        return
    if body["max_tokens"] <= budget:
        body["max_tokens"] += budget
        limit = target.max_output_tokens
        if limit and body["max_tokens"] > limit:
            body["max_tokens"] = limit
            budget = max(MIN_THINKING_BUDGET, min(budget, limit - MIN_THINKING_BUDGET))
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    # Anthropic refuses sampling changes and forced tools while thinking.
    body.pop("temperature", None)
    body.pop("top_k", None)
    if "top_p" in body:  # while thinking, top_p may only be 0.95 to 1
        body["top_p"] = max(body["top_p"], MIN_THINKING_TOP_P)
    if body.get("tool_choice", {}).get("type") in ("any", "tool"):
        body["tool_choice"] = {**body["tool_choice"], "type": "auto"}
        body["tool_choice"].pop("name", None)
