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
