"""OpenAI chat request → Bedrock Converse request: pure translation, no I/O.

Converse wants the system prompt apart from the turns, alternating user/assistant turns of
content blocks (so consecutive same-role messages merge and tool results ride in a user turn),
binary inputs inline as base64 `bytes`, and sampling under `inferenceConfig`. What only some
models take (Anthropic's top_k and extended thinking) goes in `additionalModelRequestFields`.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import InvalidRequest
from ...requests import ChatRequest, GatewayRequest
from ..anthropic.params import max_tokens
from ..base import Target
from ..parts import assistant_calls, data_url, image_url, unsupported
from ..reasoning import signed_thinking
from ..turns import BlockBuilders, split_conversation
from .params import add_model_fields, add_tools

Block = dict[str, Any]

IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
CACHE_POINT: Block = {"cachePoint": {"type": "default"}}
OPENING = "."


def to_provider_request(request: GatewayRequest, target: Target) -> dict[str, Any]:
    """The Converse body; the model is in the URL, not the body."""
    params = request.params
    model = target.model_id
    if request.operation == "completion":
        system: list[Block] = []
        turns = [("user", [{"text": _prompt(request.raw.get("prompt"), model)}])]
    else:
        system, turns = split_conversation(request.raw.get("messages") or [], model, _BUILD)
        if turns and turns[0][0] == "assistant":
            # Converse refuses a conversation that opens with the assistant (a greeting, say);
            # OpenAI's format allows it. The smallest user turn before it keeps its meaning.
            turns.insert(0, ("user", [{"text": OPENING}]))
    config: dict[str, Any] = {"maxTokens": max_tokens(request, target)}
    if params.temperature is not None:
        config["temperature"] = min(max(params.temperature, 0.0), 1.0)
    if params.top_p is not None:
        config["topP"] = params.top_p
    if params.stop:
        config["stopSequences"] = [params.stop] if isinstance(params.stop, str) else params.stop
    body: dict[str, Any] = {
        "messages": [{"role": role, "content": blocks} for role, blocks in turns],
    }
    if system:
        body["system"] = system
    body["inferenceConfig"] = config
    if isinstance(params, ChatRequest):
        add_tools(body, params, model)
    add_model_fields(body, request, target)
    return body


# ---------------------------------------------------------------------------- messages


def _with_cache_point(block: Block, part: dict[str, Any]) -> list[Block]:
    """Anthropic-style `cache_control` on a part becomes a Converse cache point after it."""
    return [block, CACHE_POINT] if part.get("cache_control") is not None else [block]


def _text_blocks(content: Any, where: str, model: str) -> list[Block]:
    """Content that may only be text (system prompts, assistant turns, tool results)."""
    if content is None or (isinstance(content, str) and not content.strip()):
        return []  # Converse refuses text blocks of only whitespace
    if isinstance(content, str):
        return [{"text": content}]
    blocks: list[Block] = []
    for j, part in enumerate(content):
        if part.get("type") in ("text", "refusal"):
            text = part.get("text", part.get("refusal"))
            if text and text.strip():
                blocks += _with_cache_point({"text": text}, part)
        else:
            raise unsupported(part, f"{where}.content[{j}]", model)
    return blocks


def _user_blocks(content: Any, where: str, model: str) -> list[Block]:
    if content is None or isinstance(content, str):
        return _text_blocks(content, where, model)
    blocks: list[Block] = []
    for j, part in enumerate(content):
        here = f"{where}.content[{j}]"
        kind = part.get("type")
        if kind == "text":
            if not (part.get("text") or "").strip():
                continue
            block: Block = {"text": part["text"]}
        elif kind == "image_url":
            block = _image(part, here, model)
        elif kind == "file":
            block = _document(part, here, model, len(blocks))
        else:
            raise unsupported(part, here, model)
        blocks += _with_cache_point(block, part)
    return blocks


def _image(part: dict[str, Any], where: str, model: str) -> Block:
    url = image_url(part, where)
    if url.startswith(("http://", "https://")):
        raise InvalidRequest(
            f"{where}: image URLs are not supported by {model}; send a base64 data: URL",
            param=where,
        )
    media_type, data = data_url(url, where, model)
    image_format = IMAGE_FORMATS.get(media_type)
    if image_format is None:
        raise InvalidRequest(f"{where}: {model} does not take {media_type} images", param=where)
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def _document(part: dict[str, Any], where: str, model: str, position: int) -> Block:
    file = part.get("file") or {}
    file_data = file.get("file_data")
    if not isinstance(file_data, str):
        raise InvalidRequest(f"{where}: {model} needs the file inline as file_data", param=where)
    media_type, data = data_url(file_data, where, model)
    if media_type != "application/pdf":
        raise InvalidRequest(f"{where}: {model} does not take {media_type} files", param=where)
    return {
        "document": {
            "format": "pdf",
            "name": _document_name(file.get("filename"), position),
            "source": {"bytes": data},
        }
    }


def _document_name(filename: Any, position: int) -> str:
    """Converse allows letters, digits, single spaces, hyphens, parentheses and brackets."""
    stem = filename.rsplit(".", 1)[0] if isinstance(filename, str) else ""
    name = re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9\s\-()\[\]]", "-", stem)).strip()
    return name[:200] or f"document-{position + 1}"


def _assistant_blocks(message: dict[str, Any], where: str, model: str) -> list[Block]:
    # Signed thinking goes first, as Claude wrote it, so a turn after a tool call is accepted.
    blocks: list[Block] = [
        {"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}}
        if kind == "text"
        else {"reasoningContent": {"redactedContent": text}}
        for kind, text, signature in signed_thinking(message)
    ]
    blocks += _text_blocks(message.get("content"), where, model)
    blocks += [
        {"toolUse": {"toolUseId": call_id, "name": name, "input": tool_input}}
        for call_id, name, tool_input in assistant_calls(message, where)
    ]
    return blocks


def _tool_result(message: dict[str, Any], where: str, model: str) -> Block:
    if not message.get("tool_call_id"):
        raise InvalidRequest(f"{where}.tool_call_id is required", param=f"{where}.tool_call_id")
    content = message.get("content")
    # Tools may answer with images or PDFs as well as text; cache points have no place here.
    blocks = [{"text": content}] if isinstance(content, str) else None
    if blocks is None:
        blocks = [b for b in _user_blocks(content, where, model) if "cachePoint" not in b]
    result: Block = {"toolUseId": message["tool_call_id"], "content": blocks}
    if message.get("is_error") is True:  # the tool failed (a Messages client says so)
        result["status"] = "error"
    return {"toolResult": result}


def _prompt(prompt: Any, model: str) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    raise InvalidRequest(f"prompt: {model} takes one prompt string", param="prompt")


_BUILD = BlockBuilders(
    text=_text_blocks, user=_user_blocks, assistant=_assistant_blocks, tool_result=_tool_result
)
