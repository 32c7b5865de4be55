"""An Anthropic Messages request → the internal chat request body (OpenAI's chat shape).

What the adapters already read carries everything: `cache_control` stays on content parts and
tools, signed thinking in assistant turns becomes `reasoning_details` (format
anthropic-claude-v1, which the Claude adapters turn back into thinking blocks), tool use and
tool results become `tool_calls` and `tool` messages, images and PDFs become `image_url` and
`file` parts, and `thinking` becomes the gateway's `reasoning`.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...errors import InvalidRequest
from ...providers.reasoning import encrypted_detail, text_detail
from .body import (
    CacheControl,
    ContentSource,
    CountTokensBody,
    DocumentBlock,
    ImageBlock,
    MessageParam,
    MessagesBody,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
)

Json = dict[str, Any]
MAX_STOPS = 4
# Anthropic's top effort has no name of its own among the gateway's levels.
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}


def to_chat_body(body: CountTokensBody) -> Json:
    """The chat request body for `body` (a count_tokens body gives the same prompt)."""
    messages: list[Json] = []
    if body.system:
        messages.append({"role": "system", "content": _system(body.system)})
    for i, message in enumerate(body.messages):
        messages += _turn(message, f"messages[{i}]")
    chat: Json = {"model": body.model, "messages": messages}
    if body.tools:
        chat["tools"] = [_tool(tool) for tool in body.tools]
        if body.tool_choice is not None:
            chat.update(_tool_choice(body.tool_choice))
    reasoning = _reasoning(body)
    if reasoning is not None:
        chat["reasoning"] = reasoning
    if body.output_config is not None and body.output_config.format is not None:
        chat["response_format"] = _response_format(body.output_config.format)
    for name in ("models", "fallback_models", "provider", "fallback_rules", "byok_conf"):
        if getattr(body, name) is not None:
            chat[name] = getattr(body, name)
    if isinstance(body, MessagesBody):
        _sampling(chat, body)
    return chat


def _sampling(chat: Json, body: MessagesBody) -> None:
    chat["max_tokens"] = body.max_tokens
    for name in ("temperature", "top_p", "top_k"):
        if getattr(body, name) is not None:
            chat[name] = getattr(body, name)
    if body.stop_sequences:
        if len(body.stop_sequences) > MAX_STOPS:  # the internal request's (OpenAI's) limit
            raise InvalidRequest(
                f"stop_sequences: at most {MAX_STOPS} are supported.", param="stop_sequences"
            )
        chat["stop"] = body.stop_sequences
    if body.metadata is not None and body.metadata.user_id:
        chat["user"] = body.metadata.user_id
    if body.stream:
        chat["stream"] = True
        # The closing message_delta reports usage: the pipeline keeps the usage chunk for it.
        chat["stream_options"] = {"include_usage": True}


# ------------------------------------------------------------------------------ content


def _cached(part: Json, cache_control: CacheControl | None) -> Json:
    if cache_control is not None:
        part["cache_control"] = cache_control.model_dump(exclude_none=True)
    return part


def _text(block: TextBlock) -> Json:
    return _cached({"type": "text", "text": block.text}, block.cache_control)


def _system(system: str | list[TextBlock]) -> str | list[Json]:
    return system if isinstance(system, str) else [_text(block) for block in system]


def _image(block: ImageBlock, where: str) -> Json:
    source = block.source
    if source.type == "base64":
        url = f"data:{source.media_type};base64,{source.data}"
    elif source.type == "url":
        url = source.url
    else:
        raise _unsupported(f"{where}.source", "images by file_id (send base64 or a URL)")
    return _cached({"type": "image_url", "image_url": {"url": url}}, block.cache_control)


def _document(block: DocumentBlock, where: str) -> list[Json]:
    source = block.source
    if source.type == "base64":
        file = {
            "filename": block.title or "document.pdf",
            "file_data": f"data:{source.media_type};base64,{source.data}",
        }
        parts = [{"type": "file", "file": file}]
    elif source.type == "text":
        parts = [{"type": "text", "text": source.data}]
    elif isinstance(source, ContentSource):
        content = source.content
        if isinstance(content, str):
            parts = [{"type": "text", "text": content}]
        else:
            parts = [_user_part(b, f"{where}.source.content[{j}]") for j, b in enumerate(content)]
    else:
        raise _unsupported(f"{where}.source", f"documents by {source.type} (send base64 data)")
    if parts and block.cache_control is not None:
        _cached(parts[-1], block.cache_control)
    return parts


def _user_part(block: TextBlock | ImageBlock, where: str) -> Json:
    return _text(block) if isinstance(block, TextBlock) else _image(block, where)


def _user_parts(block: TextBlock | ImageBlock | DocumentBlock, where: str) -> list[Json]:
    if isinstance(block, DocumentBlock):
        return _document(block, where)
    return [_user_part(block, where)]


def _tool_result(block: ToolResultBlock, where: str) -> Json:
    content: str | list[Json]
    if block.content is None or isinstance(block.content, str):
        content = block.content or ""
        if content and block.cache_control is not None:
            content = [_cached({"type": "text", "text": content}, block.cache_control)]
    else:
        content = [
            part
            for j, item in enumerate(block.content)
            for part in _user_parts(item, f"{where}.content[{j}]")
        ]
        if content and block.cache_control is not None:
            _cached(content[-1], block.cache_control)
    message: Json = {"role": "tool", "tool_call_id": block.tool_use_id, "content": content}
    if block.is_error:
        # The tool failed: Claude (and Bedrock) are told so; other protocols drop the flag.
        message["is_error"] = True
    return message


def _turn(message: MessageParam, where: str) -> list[Json]:
    if isinstance(message.content, str):
        return [{"role": message.role, "content": message.content}]
    if message.role == "assistant":
        return [_assistant(message.content, where)]
    out: list[Json] = []
    parts: list[Json] = []
    for j, block in enumerate(message.content):
        here = f"{where}.content[{j}]"
        if isinstance(block, ToolResultBlock):
            if parts:  # keep the order the blocks came in
                out.append({"role": "user", "content": parts})
                parts = []
            out.append(_tool_result(block, here))
        elif isinstance(block, TextBlock | ImageBlock | DocumentBlock):
            parts += _user_parts(block, here)
        else:
            raise _unsupported(here, f"{block.type} blocks in a user turn", param=f"{here}.type")
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant(blocks: list[Any], where: str) -> Json:
    texts: list[Json] = []
    details: list[Json] = []
    calls: list[Json] = []
    for j, block in enumerate(blocks):
        if isinstance(block, TextBlock):
            texts.append(_text(block))
        elif isinstance(block, ThinkingBlock):
            # Thinking with no signature came from another model: Claude would refuse it.
            if block.signature:
                details.append(text_detail(len(details), block.thinking, block.signature))
        elif isinstance(block, RedactedThinkingBlock):
            details.append(encrypted_detail(len(details), block.data))
        elif isinstance(block, ToolUseBlock):
            function = {"name": block.name, "arguments": orjson.dumps(block.input).decode()}
            calls.append({"id": block.id, "type": "function", "function": function})
        else:
            here = f"{where}.content[{j}]"
            raise _unsupported(here, f"{block.type} blocks in an assistant turn", f"{here}.type")
    message: Json = {"role": "assistant"}
    if any("cache_control" in part for part in texts):
        message["content"] = texts
    elif texts or not calls:
        message["content"] = "".join(part["text"] for part in texts)
    else:
        message["content"] = None
    if calls:
        message["tool_calls"] = calls
    if details:
        message["reasoning_details"] = details
    return message


# ------------------------------------------------------------------------------ tools, thinking


def _tool(tool: Tool) -> Json:
    function: Json = {"name": tool.name, "parameters": tool.input_schema}
    if tool.description:
        function["description"] = tool.description
    return _cached({"type": "function", "function": function}, tool.cache_control)


def _tool_choice(choice: ToolChoice) -> Json:
    out: Json = {}
    if choice.type == "tool":
        if not choice.name:
            raise InvalidRequest(
                "tool_choice.name: is required when type is 'tool'.", param="tool_choice.name"
            )
        out["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    else:
        out["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.type]
    if choice.disable_parallel_tool_use and choice.type != "none":
        out["parallel_tool_calls"] = False
    return out


def _reasoning(body: CountTokensBody) -> Json | None:
    thinking = body.thinking
    effort = body.output_config.effort if body.output_config is not None else None
    reasoning: Json = {}
    if effort is not None:
        reasoning["effort"] = _EFFORTS[effort]
    if thinking is None:
        return reasoning or None
    if thinking.type == "disabled":
        return {"enabled": False}
    if thinking.type == "enabled" and thinking.budget_tokens is not None:
        return {"max_tokens": thinking.budget_tokens}
    return {"enabled": True, **reasoning}


def _response_format(spec: Json) -> Json:
    schema = spec.get("schema")
    if spec.get("type") != "json_schema" or not isinstance(schema, dict):
        raise InvalidRequest(
            "output_config.format: only {'type': 'json_schema', 'schema': {...}} is supported.",
            param="output_config.format",
        )
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}


def _unsupported(where: str, what: str, param: str | None = None) -> InvalidRequest:
    return InvalidRequest(f"{where}: {what} are not supported.", param=param or where)
