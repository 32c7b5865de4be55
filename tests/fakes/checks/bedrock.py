"""Bedrock Runtime's Converse and ConverseStream, by botocore's own service model."""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import re
from typing import Any

from tests.fakes.checks.anthropic import thinking_rules

# Anthropic's names of Converse's inferenceConfig fields.
_SAMPLING_NAMES = (("temperature", "temperature"), ("top_p", "topP"))


@functools.cache
def _bedrock_runtime() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("bedrock-runtime")


def bedrock_problem(operation: str, model_id: str, body: dict[str, Any]) -> str | None:
    """`operation` (Converse, ConverseStream) by botocore's own model of Bedrock Runtime.

    The body is REST-JSON: blobs are base64 strings and `modelId` is in the URL, so blobs are
    decoded and the id put in before botocore's `ParamValidator` sees the parameters."""
    from botocore.validate import ParamValidator

    shape = _bedrock_runtime().operation_model(operation).input_shape
    in_url = [name for name, m in shape.members.items() if m.serialization.get("location")]
    for name in in_url:
        if name in body:
            return f"Unknown parameter in input: {name!r}: it belongs in the URL"
    try:
        params = _from_rest_json({**body, "modelId": model_id}, shape, "")
    except ValueError as error:
        return str(error)
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        return str(report.generate_report())
    return _conversation_rules(body)


def _conversation_rules(body: dict[str, Any]) -> str | None:
    """What Converse refuses that the service model does not say."""
    messages = body.get("messages") or []
    if not messages or messages[0]["role"] != "user":
        return (
            "A conversation must start with a user message. Try again with a conversation that"
            " starts with a user message."
        )
    for before, after in itertools.pairwise(messages):
        if before["role"] == after["role"]:
            return (
                "A conversation must alternate between user and assistant roles. Make sure the"
                " conversation alternates between user and assistant roles and try again."
            )
    system = enumerate(body.get("system", []))
    places = [("SystemContentBlock", f"system.{j}", block) for j, block in system]
    for i, message in enumerate(messages):
        if not message["content"]:
            return (
                f"The content field in the Message object at messages.{i} is empty. Add a"
                " ContentBlock object to the content field and try again."
            )
        places += [
            ("ContentBlock", f"messages.{i}.content.{j}", block)
            for j, block in enumerate(message["content"])
        ]
    for kind, where, block in places:
        if isinstance(block.get("text"), str) and not block["text"].strip():
            return (
                f"The text field in the {kind} object at {where} is blank. Add text to the text"
                " field, and try again."
            )
    return _claude_on_bedrock_rules(body)


def _claude_on_bedrock_rules(body: dict[str, Any]) -> str | None:
    """Anthropic's own thinking rules, which Claude on Bedrock applies to the mapped request."""
    extra = body.get("additionalModelRequestFields") or {}
    if "thinking" not in extra:
        return None
    config = body.get("inferenceConfig") or {}
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    messages_shaped = {
        "thinking": extra["thinking"],
        "max_tokens": config.get("maxTokens", 4096),
        **{k: extra[k] for k in ("top_k",) if k in extra},
        **{k: config[c] for k, c in _SAMPLING_NAMES if c in config},
        "tool_choice": {"type": next(iter(choice), "auto")},
    }
    problem = thinking_rules(messages_shaped)
    return None if problem is None else f"The model returned the following errors: {problem}"


def _from_rest_json(value: Any, shape: Any, where: str) -> Any:
    """`value` as botocore's parameters: base64 blobs decoded; anything of the wrong shape is
    left as it is, for the validator to name."""
    kind = shape.type_name
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError(f"{where}: not valid base64 for a blob") from None
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            k: _from_rest_json(v, members[k], f"{where}.{k}".lstrip(".")) if k in members else v
            for k, v in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [_from_rest_json(v, shape.member, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind == "map" and isinstance(value, dict):
        return {k: _from_rest_json(v, shape.value, f"{where}.{k}") for k, v in value.items()}
    if kind == "string" and isinstance(value, str):
        _check_string(value, shape, where)
    return value


def _check_string(value: str, shape: Any, where: str) -> None:
    """The constraints the service checks and botocore's validator does not: enums, patterns."""
    constraint = None
    if shape.enum and value not in shape.enum:
        constraint = f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
    pattern = shape.metadata.get("pattern")
    if pattern and re.fullmatch(pattern, value) is None:
        constraint = f"Member must satisfy regular expression pattern: {pattern}"
    if constraint:
        raise ValueError(
            f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy"
            f" constraint: {constraint}"
        )


# Amazon Titan Text Embeddings V2's request body (InvokeModel), as its model page gives it.
_TITAN_FIELDS = {"inputText", "dimensions", "normalize", "embeddingTypes"}
_TITAN_DIMENSIONS = (256, 512, 1024)


def titan_embedding_problem(model_id: str, body: bytes, headers: dict[str, str]) -> str | None:
    """InvokeModel by botocore's own model of Bedrock Runtime (the body a blob, the model id in
    the URL, content type and accept in headers), then the body's own rules: Titan Text
    Embeddings v2's, or Cohere Embed's for `cohere.embed-*`."""
    import json

    from botocore.validate import ParamValidator

    shape = _bedrock_runtime().operation_model("InvokeModel").input_shape
    params = {"modelId": model_id, "body": body}
    if "content-type" in headers:
        params["contentType"] = headers["content-type"]
    if "accept" in headers:
        params["accept"] = headers["accept"]
    try:
        params = _from_rest_json(params, shape, "")
    except ValueError as error:
        return str(error)
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        return str(report.generate_report())
    try:
        request = json.loads(body)
    except ValueError:
        return "Malformed input request, please reformat your input and try again."
    if not isinstance(request, dict):
        return "Malformed input request: expected type: JSONObject"
    if model_id.startswith("cohere.embed"):
        return _cohere_rules(request)
    unknown = sorted(set(request) - _TITAN_FIELDS)
    if unknown:
        return f"Malformed input request: extraneous key [{unknown[0]}] is not permitted"
    text = request.get("inputText")
    if not isinstance(text, str):
        return "Malformed input request: required key [inputText] not found"
    if not text.strip():
        return "Malformed input request: expected minLength: 1, actual: 0"
    dimensions = request.get("dimensions")
    if dimensions is not None and dimensions not in _TITAN_DIMENSIONS:
        return f"Malformed input request: #/dimensions: {dimensions} is not a valid enum value"
    if "normalize" in request and not isinstance(request["normalize"], bool):
        return "Malformed input request: #/normalize: expected type: Boolean"
    return None


# Cohere Embed (v3) on Bedrock: its request fields, as its model page gives them.
_COHERE_FIELDS = {"texts", "images", "input_type", "truncate", "embedding_types"}
_COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering", "image")


def _cohere_rules(request: dict[str, Any]) -> str | None:
    unknown = sorted(set(request) - _COHERE_FIELDS)
    if unknown:
        return f"Malformed input request: extraneous key [{unknown[0]}] is not permitted"
    if request.get("input_type") not in _COHERE_INPUT_TYPES:
        return "Malformed input request: #/input_type: must be one of " + ", ".join(
            _COHERE_INPUT_TYPES
        )
    texts = request.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return "Malformed input request: #/texts: expected type: JSONArray of strings"
    if len(texts) > 96:
        found = len(texts)
        return f"Malformed input request: #/texts: expected maximum item count: 96, found: {found}"
    if any(len(t) > 2048 for t in texts):
        return "Malformed input request: #/texts: expected maxLength: 2048"
    return None
