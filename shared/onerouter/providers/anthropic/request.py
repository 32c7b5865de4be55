"""OpenAI chat request → Anthropic Messages request: pure translation, no I/O.

Anthropic wants the system prompt apart from the turns, strictly alternating user/assistant
turns (so consecutive same-role messages merge and tool results ride in a user turn), and a
`max_tokens` on every request.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...requests import ChatRequest, GatewayRequest
from ..base import Target
from ..parts import assistant_calls, data_url, image_url, unsupported
from ..reasoning import signed_thinking
from ..turns import BlockBuilders, split_conversation
from .params import add_thinking, add_tools, max_tokens

Block = dict[str, Any]


def to_provider_request(request: GatewayRequest, target: Target) -> dict[str, Any]:
    params = request.params
    model = target.model_id
    if request.operation == "completion":
        system: list[Block] = []
        turns = [("user", [_text(_prompt(request.raw.get("prompt"), model))])]
    else:
        system, turns = split_conversation(request.raw.get("messages") or [], model, _BUILD)
    body: dict[str, Any] = {
        "model": target.endpoint.model,
        "max_tokens": max_tokens(request, target),
        "messages": [{"role": role, "content": blocks} for role, blocks in turns],
    }
    if system:
        body["system"] = system
    if params.temperature is not None:
        body["temperature"] = min(max(params.temperature, 0.0), 1.0)
    if params.top_p is not None:
        body["top_p"] = params.top_p
    top_k = request.raw.get("top_k")
    if isinstance(top_k, int) and not isinstance(top_k, bool) and top_k > 0:
        body["top_k"] = top_k
    if params.stop:
        body["stop_sequences"] = [params.stop] if isinstance(params.stop, str) else params.stop
    if params.user:
        body["metadata"] = {"user_id": params.user}
    if isinstance(params, ChatRequest):
        add_tools(body, params, model)
    add_thinking(body, request, target)
    if request.stream:
        body["stream"] = True
    return body


# ---------------------------------------------------------------------------- messages


def _text(text: str, part: dict[str, Any] | None = None) -> Block:
    block: Block = {"type": "text", "text": text}
    if part is not None and part.get("cache_control") is not None:
        block["cache_control"] = part["cache_control"]
    return block


def _text_blocks(content: Any, where: str, model: str) -> list[Block]:
    """Content that may only be text (system prompts, assistant turns, tool results)."""
    if content is None or (isinstance(content, str) and not content.strip()):
        return []  # Anthropic refuses text blocks of only whitespace
    if isinstance(content, str):
        return [_text(content)]
    blocks = []
    for j, part in enumerate(content):
        if part.get("type") in ("text", "refusal"):
            text = part.get("text", part.get("refusal"))
            if text and text.strip():
                blocks.append(_text(text, part))
        else:
            raise unsupported(part, f"{where}.content[{j}]", model)
    return blocks


def _user_blocks(content: Any, where: str, model: str) -> list[Block]:
    if content is None or isinstance(content, str):
        return _text_blocks(content, where, model)
    blocks = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            block = _text(part["text"]) if (part.get("text") or "").strip() else None
        elif kind == "image_url":
            block = _image(part, f"{where}.content[{j}]", model)
        elif kind == "file":
            block = _document(part, f"{where}.content[{j}]", model)
        else:
            raise unsupported(part, f"{where}.content[{j}]", model)
        if block is not None:
            if part.get("cache_control") is not None:
                block["cache_control"] = part["cache_control"]
            blocks.append(block)
    return blocks


def _image(part: dict[str, Any], where: str, model: str) -> Block:
    url = image_url(part, where)
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    media_type, data = data_url(url, where, model)
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _document(part: dict[str, Any], where: str, model: str) -> Block:
    file = part.get("file") or {}
    file_data = file.get("file_data")
    if not isinstance(file_data, str):
        raise InvalidRequest(f"{where}: {model} needs the file inline as file_data", param=where)
    media_type, data = data_url(file_data, where, model)
    if media_type != "application/pdf":
        raise InvalidRequest(f"{where}: {model} does not take {media_type} files", param=where)
    block: Block = {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }
    if file.get("filename"):
        block["title"] = file["filename"]
    return block


def _assistant_blocks(message: dict[str, Any], where: str, model: str) -> list[Block]:
    # Signed thinking goes first, as Claude wrote it, so a turn after a tool call is accepted.
    blocks: list[Block] = [
        {"type": "thinking", "thinking": text, "signature": signature}
        if kind == "text"
        else {"type": "redacted_thinking", "data": text}
        for kind, text, signature in signed_thinking(message)
    ]
    blocks += _text_blocks(message.get("content"), where, model)
    blocks += [
        {"type": "tool_use", "id": call_id, "name": name, "input": tool_input}
        for call_id, name, tool_input in assistant_calls(message, where)
    ]
    return blocks


def _tool_result(message: dict[str, Any], where: str, model: str) -> Block:
    if not message.get("tool_call_id"):
        raise InvalidRequest(f"{where}.tool_call_id is required", param=f"{where}.tool_call_id")
    content = message.get("content")
    block: Block = {"type": "tool_result", "tool_use_id": message["tool_call_id"]}
    # Tools may answer with images or PDFs as well as text (screenshots, fetched files).
    block["content"] = content if isinstance(content, str) else _user_blocks(content, where, model)
    if message.get("is_error") is True:  # the tool failed (a Messages client says so)
        block["is_error"] = True
    return block


def _prompt(prompt: Any, model: str) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    raise InvalidRequest(f"prompt: {model} takes one prompt string", param="prompt")


_BUILD = BlockBuilders(
    text=_text_blocks, user=_user_blocks, assistant=_assistant_blocks, tool_result=_tool_result
)
