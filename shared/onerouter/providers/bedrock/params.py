"""OpenAI parameters → Converse's: tools and tool choice, structured output, and the fields only
some models take (`additionalModelRequestFields`: Anthropic's top_k and extended thinking)."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...requests import ChatRequest, GatewayRequest
from ..anthropic.params import JSON_TOOL, MIN_THINKING_TOP_P, add_thinking
from ..base import Target

Block = dict[str, Any]


def is_anthropic(target: Target) -> bool:
    """Model ids like `anthropic.claude-…`, `us.anthropic.claude-…` or an ARN naming one."""
    return "anthropic." in target.endpoint.model


def add_model_fields(body: dict[str, Any], request: GatewayRequest, target: Target) -> None:
    if not is_anthropic(target):
        return
    extra: dict[str, Any] = {}
    top_k = request.raw.get("top_k")
    if isinstance(top_k, int) and not isinstance(top_k, bool) and top_k > 0:
        extra["top_k"] = top_k
    # Anthropic's own rules for a thinking budget: below max_tokens, no sampling changes,
    # no forced tools. Worked out on a Messages-shaped scratch body.
    config = body["inferenceConfig"]
    scratch: dict[str, Any] = {"max_tokens": config["maxTokens"], **extra}
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    if "any" in choice or "tool" in choice:
        scratch["tool_choice"] = {"type": "any"}
    add_thinking(scratch, request, target)
    if "thinking" in scratch:
        config["maxTokens"] = scratch["max_tokens"]
        config.pop("temperature", None)
        extra.pop("top_k", None)
        if "topP" in config:
            config["topP"] = max(config["topP"], MIN_THINKING_TOP_P)
        extra["thinking"] = scratch["thinking"]
        if "tool_choice" in scratch:
            body["toolConfig"]["toolChoice"] = {"auto": {}}
    if request.anthropic_beta:
        extra["anthropic_beta"] = list(request.anthropic_beta)
    if extra:
        body["additionalModelRequestFields"] = extra


def add_tools(body: dict[str, Any], params: ChatRequest, model: str) -> None:
    """Tools and tool choice; `response_format` JSON rides as a forced `json_output` tool."""
    offered = params.tools if params.tool_choice != "none" else None
    schema = _json_schema(params)
    if not offered and schema is None:
        return
    tools: list[Block] = []
    for k, tool in enumerate(offered or ()):
        if tool.type != "function":
            raise InvalidRequest(f"tools[{k}]: type {tool.type!r} is not supported by {model}")
        spec: Block = {"name": tool.function.name}
        if tool.function.description:
            spec["description"] = tool.function.description
        parameters = tool.function.parameters or {"type": "object", "properties": {}}
        spec["inputSchema"] = {"json": parameters}
        tools.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": tools}
    choice = params.tool_choice if offered else None
    if schema is not None:
        spec = {"name": JSON_TOOL, "description": "Respond with this JSON."}
        tools.append({"toolSpec": {**spec, "inputSchema": {"json": schema}}})
        if not offered:
            config["toolChoice"] = {"tool": {"name": JSON_TOOL}}
    if choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        config["toolChoice"] = {"tool": {"name": choice["function"]["name"]}}
    elif choice is not None:
        raise InvalidRequest(
            f"tool_choice {choice!r} is not supported by {model}", param="tool_choice"
        )
    body["toolConfig"] = config


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
