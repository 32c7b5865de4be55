"""An OpenAI chat request as a Gemini `GenerateContentRequest` (Generative Language API v1beta).

Gemini has two roles (`user`, `model`) that must alternate, a separate `systemInstruction`,
no tool-call ids (a function result is matched to its call by name), and an OpenAPI subset
for schemas. Anything we cannot express is a 400 naming the part and the model.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import orjson

from ...errors import InvalidRequest
from ...requests import ChatRequest, GatewayRequest, Message
from ..base import Target
from .schema import gemini_schema

# Thinking budgets (tokens) for OpenAI-style effort levels.
THINKING_BUDGETS = {
    "none": 0,
    "minimal": 512,
    "low": 1024,
    "medium": 8192,
    "high": 24576,
    "xhigh": 32768,
}

_TOOL_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def to_provider_request(request: GatewayRequest, target: Target) -> dict[str, Any]:
    params = request.params
    if isinstance(params, ChatRequest):
        system, contents = _contents(params.messages, target.model_id)
    else:
        contents = [{"role": "user", "parts": [{"text": _prompt_text(params.prompt, target)}]}]
        system = []
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if isinstance(params, ChatRequest):
        if params.tools:
            body["tools"] = [
                {"functionDeclarations": [_declaration(t.function) for t in params.tools]}
            ]
        if params.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": _tool_choice(params.tool_choice)}
    config = _generation_config(request)
    if config:
        body["generationConfig"] = config
    body.update(_google_fields(request.raw))
    return body


def _google_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """Gemini's own knobs, for callers who know them: safety thresholds and a context cache
    made beforehand with Google's cachedContents API."""
    fields: dict[str, Any] = {}
    settings = raw.get("safety_settings")
    if settings is not None:
        if not isinstance(settings, list) or not all(
            isinstance(s, dict)
            and isinstance(s.get("category"), str)
            and isinstance(s.get("threshold"), str)
            for s in settings
        ):
            raise InvalidRequest(
                "safety_settings: expected a list of {category, threshold} objects",
                param="safety_settings",
            )
        fields["safetySettings"] = [
            {"category": s["category"], "threshold": s["threshold"]} for s in settings
        ]
    cached = raw.get("cached_content")
    if cached is not None:
        if not isinstance(cached, str) or not cached.startswith("cachedContents/"):
            raise InvalidRequest(
                "cached_content: expected a cache name like cachedContents/abc123",
                param="cached_content",
            )
        fields["cachedContent"] = cached
    return fields


# ---------------------------------------------------------------------------------- messages
def _contents(
    messages: list[Message], model_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names_by_call_id: dict[str, str] = {}
    for i, message in enumerate(messages):
        if message.role in ("system", "developer"):
            system += [{"text": text} for text in _texts(message, i, model_id)]
            continue
        if message.role == "assistant":
            role, parts = "model", [{"text": t} for t in _texts(message, i, model_id)]
            for call in message.tool_calls or ():
                names_by_call_id[call.id] = call.function.name
                parts.append(_function_call_part(call.model_dump(), i))
        elif message.role in ("tool", "function"):
            role, parts = "user", [_function_response(message, i, names_by_call_id)]
        else:
            role, parts = "user", _user_parts(message, i, model_id)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _texts(message: Message, i: int, model_id: str) -> list[str]:
    """The text of a system or assistant message; any other part is refused."""
    content = message.content
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [content]
    texts = []
    for j, part in enumerate(content):
        if part.type != "text":
            raise _unsupported(i, j, part.type, model_id, f"in a {message.role} message")
        if text := str((part.model_extra or {}).get("text", "")):
            texts.append(text)  # Gemini refuses an empty text part
    return texts


def _user_parts(message: Message, i: int, model_id: str) -> list[dict[str, Any]]:
    content = message.content
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        extra = part.model_extra or {}
        if part.type == "text":
            if text := str(extra.get("text", "")):
                parts.append({"text": text})
        elif part.type == "image_url":
            url = _field(extra, "image_url", "url", i, j)
            parts.append(_media_part(url, "image/jpeg", i, j))
        elif part.type == "file":
            file = _object(extra.get("file"))
            data = file.get("file_data") or file.get("url")
            if not isinstance(data, str):
                raise _unsupported(i, j, "file without file_data", model_id, "")
            default = mimetypes.guess_type(file.get("filename") or "")[0] or "application/pdf"
            parts.append(_media_part(data, default, i, j))
        elif part.type == "input_audio":
            audio = _object(extra.get("input_audio"))
            data, fmt = audio.get("data"), audio.get("format")
            if not isinstance(data, str) or not isinstance(fmt, str):
                raise _bad(i, j, "input_audio needs `data` and `format`")
            parts.append({"inlineData": {"mimeType": f"audio/{fmt}", "data": data}})
        else:
            raise _unsupported(i, j, part.type, model_id, "")
    return parts


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _field(extra: dict[str, Any], outer: str, inner: str, i: int, j: int) -> str:
    value = extra.get(outer)
    value = value.get(inner) if isinstance(value, dict) else value
    if not isinstance(value, str) or not value:
        raise _bad(i, j, f"`{outer}.{inner}` is missing")
    return value


def _media_part(url: str, default_mime: str, i: int, j: int) -> dict[str, Any]:
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        mime, _, encoding = header.partition(";")
        if not sep or encoding != "base64" or not mime:
            raise _bad(i, j, "a data URL must be `data:<mime type>;base64,<data>`")
        return {"inlineData": {"mimeType": mime, "data": data}}
    if url.startswith(("http://", "https://")):
        path = url.split("?", 1)[0].split("#", 1)[0]
        mime = mimetypes.guess_type(path)[0] or default_mime
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise _bad(i, j, "a URL must be http(s) or a base64 data URL")


def _function_call_part(call: dict[str, Any], i: int) -> dict[str, Any]:
    function = call["function"]
    try:
        args = orjson.loads(function["arguments"] or "{}")
    except orjson.JSONDecodeError:
        raise InvalidRequest(
            f"messages[{i}].tool_calls: arguments of {function['name']!r} are not JSON",
            param=f"messages[{i}].tool_calls",
        ) from None
    part: dict[str, Any] = {"functionCall": {"name": function["name"], "args": args}}
    # Gemini's thinking models want their signature back with the call they made.
    google = (call.get("extra_content") or {}).get("google") or {}
    if isinstance(google, dict) and google.get("thought_signature"):
        part["thoughtSignature"] = google["thought_signature"]
    return part


def _function_response(
    message: Message, i: int, names_by_call_id: dict[str, str]
) -> dict[str, Any]:
    name = names_by_call_id.get(message.tool_call_id or "") or message.name
    if not name:
        raise InvalidRequest(
            f"messages[{i}]: tool_call_id {message.tool_call_id!r} matches no earlier tool call",
            param=f"messages[{i}].tool_call_id",
        )
    content = message.content
    if isinstance(content, list):
        text = "".join(str((p.model_extra or {}).get("text", "")) for p in content)
    else:
        text = content or ""
    try:
        result = orjson.loads(text)
    except orjson.JSONDecodeError:
        result = None
    response = result if isinstance(result, dict) else {"content": text}
    return {"functionResponse": {"name": name, "response": response}}


def _prompt_text(prompt: Any, target: Target) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        return "".join(prompt)
    raise InvalidRequest(
        f"prompt: token arrays are not supported by {target.model_id}", param="prompt"
    )


def _unsupported(i: int, j: int, kind: str, model_id: str, where: str) -> InvalidRequest:
    where = f" {where}" if where else ""
    return InvalidRequest(
        f"messages[{i}].content[{j}]: part type {kind!r}{where} is not supported by {model_id}",
        param=f"messages[{i}].content[{j}]",
    )


def _bad(i: int, j: int, why: str) -> InvalidRequest:
    return InvalidRequest(f"messages[{i}].content[{j}]: {why}", param=f"messages[{i}].content[{j}]")


# ------------------------------------------------------------------------------------- tools
def _declaration(function: Any) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": function.name}
    if function.description:
        declaration["description"] = function.description
    if function.parameters and function.parameters.get("properties"):
        declaration["parameters"] = gemini_schema(function.parameters)
    return declaration


def _tool_choice(choice: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(choice, str):
        if choice not in _TOOL_CHOICE_MODES:
            raise InvalidRequest(f"tool_choice: unknown value {choice!r}", param="tool_choice")
        return {"mode": _TOOL_CHOICE_MODES[choice]}
    name = (choice.get("function") or {}).get("name")
    if not isinstance(name, str):
        raise InvalidRequest("tool_choice: a named choice needs function.name", param="tool_choice")
    return {"mode": "ANY", "allowedFunctionNames": [name]}


# -------------------------------------------------------------------------------- parameters
def _generation_config(request: GatewayRequest) -> dict[str, Any]:
    params, raw = request.params, request.raw
    config: dict[str, Any] = {}
    max_tokens = getattr(params, "max_completion_tokens", None) or params.max_tokens
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    if params.temperature is not None:
        config["temperature"] = min(max(params.temperature, 0.0), 2.0)
    if params.top_p is not None:
        config["topP"] = params.top_p
    if isinstance(raw.get("top_k"), int):
        config["topK"] = raw["top_k"]
    if params.stop:
        config["stopSequences"] = [params.stop] if isinstance(params.stop, str) else params.stop
    if params.seed is not None:
        config["seed"] = params.seed
    if params.n is not None:
        config["candidateCount"] = params.n
    if params.presence_penalty is not None:
        config["presencePenalty"] = params.presence_penalty
    if params.frequency_penalty is not None:
        config["frequencyPenalty"] = params.frequency_penalty
    if isinstance(params, ChatRequest):
        config.update(_response_format(params))
        thinking = _thinking(params)
        if thinking is not None:
            config["thinkingConfig"] = thinking
    return config


def _response_format(params: ChatRequest) -> dict[str, Any]:
    fmt = params.response_format
    if fmt is None or fmt.type == "text":
        return {}
    out: dict[str, Any] = {"responseMimeType": "application/json"}
    if fmt.type == "json_schema":
        spec = (fmt.model_extra or {}).get("json_schema") or {}
        if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
            out["responseSchema"] = gemini_schema(spec["schema"])
    return out


def _thinking(params: ChatRequest) -> dict[str, Any] | None:
    reasoning = params.reasoning
    effort = (reasoning.effort if reasoning else None) or params.reasoning_effort
    budget: int | None
    if reasoning and reasoning.max_tokens is not None:
        budget = reasoning.max_tokens
    elif effort is not None:
        budget = THINKING_BUDGETS[effort]
    elif reasoning and reasoning.enabled is not None:
        budget = -1 if reasoning.enabled else 0  # -1: the model decides
    elif reasoning:
        budget = -1
    else:
        return None
    exclude = bool(reasoning and reasoning.exclude)
    return {"thinkingBudget": budget, "includeThoughts": budget != 0 and not exclude}
