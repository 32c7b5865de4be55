"""The Gemini Developer API's `GenerateContentRequest`, by `google.genai.types`."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, TypeAdapter

from tests.fakes.checks.sdk import Invalid, Path, dotted, validated

# Fields of the SDK's types that the Gemini Developer API does not have (the SDK refuses to send
# them in that mode: "only supported in Gemini Enterprise Agent Platform mode").
_VERTEX_ONLY = {
    "GenerationConfig": ("model_selection_config", "routing_config", "audio_timestamp"),
    "ImageConfig": (
        "person_generation",
        "prominent_people",
        "output_mime_type",
        "output_compression_quality",
        "image_output_options",
    ),
    "Tool": ("retrieval", "enterprise_web_search", "parallel_ai_search", "exa_ai_search"),
    "FunctionCallingConfig": ("stream_function_call_arguments",),
    "SafetySetting": ("method",),
    "FunctionCall": ("partial_args", "will_continue"),
    # The SDK itself refuses `additionalProperties` in a Developer API schema.
    "Schema": ("additional_properties",),
}
# A part holds one of these (a protobuf `oneof`).
_PART_DATA = (
    "text",
    "inline_data",
    "file_data",
    "function_call",
    "function_response",
    "executable_code",
    "code_execution_result",
    "tool_call",
    "tool_response",
)


@functools.cache
def _generate_content_request() -> dict[str, TypeAdapter[Any]]:
    """A TypeAdapter per field of the REST body, from `google.genai.types`."""
    from google.genai import types

    config = types.GenerateContentConfig.model_fields
    return {
        "contents": TypeAdapter(list[types.Content]),
        "systemInstruction": TypeAdapter(types.Content),
        "generationConfig": TypeAdapter(types.GenerationConfig),
        "tools": TypeAdapter(list[types.Tool]),
        "toolConfig": TypeAdapter(types.ToolConfig),
        "safetySettings": TypeAdapter(list[types.SafetySetting]),
        "cachedContent": TypeAdapter(str),
        # The SDK moves these from its config to the body too.
        "serviceTier": TypeAdapter(config["service_tier"].annotation),
        "labels": TypeAdapter(config["labels"].annotation),
        "store": TypeAdapter(config["store"].annotation),
        # On the wire inside generationConfig, though not a field of types.GenerationConfig.
        "imageConfig": TypeAdapter(types.ImageConfig),
    }


def gemini_problem(body: dict[str, Any]) -> str | None:
    """A v1beta `GenerateContentRequest`, each part of it by its `google.genai.types` model
    (camelCase as sent, snake_case as protobuf JSON also takes); unknown names refused."""
    try:
        _check_request(body)
    except Invalid as invalid:
        if invalid.kind != "extra_forbidden":
            return f"* GenerateContentRequest.{invalid.explain(body)}"
        name, at = invalid.path[-1], dotted(body, invalid.path[:-1])
        where = f" at '{at}'" if at else ""
        return f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'

    return None


def _check_request(body: dict[str, Any]) -> None:
    fields = _generate_content_request()
    for key, value in body.items():
        name = _camel(key)
        if name not in fields or name == "imageConfig":
            raise Invalid((key,), "Cannot find field.", kind="extra_forbidden")
        if name == "generationConfig" and isinstance(value, dict):
            image = {k: v for k, v in value.items() if _camel(k) == "imageConfig"}
            value = {k: v for k, v in value.items() if k not in image}
            for k, v in image.items():
                _developer_api_only(validated(fields["imageConfig"], v, (key, k)), (key, k))
        _developer_api_only(validated(fields[name], value, (key,)), (key,))
        if name == "contents":
            _check_contents(value)
        if name == "systemInstruction":
            _check_parts(value.get("parts") or [], (key, "parts"))
    if not body.get("contents"):
        raise Invalid((), "contents is not specified", "contents")


def _check_contents(contents: list[dict[str, Any]]) -> None:
    """What the API refuses in contents that the SDK's types let through."""
    for i, content in enumerate(contents):
        if content.get("role") not in (None, "user", "model"):
            raise Invalid(("contents", i, "role"), "Please use a valid role: user, model.")
        if not content.get("parts"):
            raise Invalid(("contents", i), "contents.parts must not be empty.", "parts")
        _check_parts(content["parts"], ("contents", i, "parts"))


def _check_parts(parts: list[dict[str, Any]], where: Path) -> None:
    for j, part in enumerate(parts):
        data = [k for k in part if _snake(k) in _PART_DATA]
        if not data:
            why = "required oneof field 'data' must have one initialized field"
            raise Invalid((*where, j), why, "data")
        if len(data) > 1:
            why = f"oneof field 'data' is already set. Cannot set '{data[1]}'"
            raise Invalid((*where, j), why, "data")
        if part.get("text") == "":
            raise Invalid(
                (*where, j),
                "Unable to submit request because it has an empty text parameter. Add a value"
                " to the parameter and try again.",
                "text",
            )


def _developer_api_only(value: Any, path: Path) -> None:
    """Refuse, as unknown names, the fields of validated models the Developer API lacks."""
    if isinstance(value, BaseModel):
        for name in _VERTEX_ONLY.get(type(value).__name__, ()):
            if getattr(value, name) is not None:
                raise Invalid((*path, _camel(name)), "Cannot find field.", kind="extra_forbidden")
        for name in type(value).model_fields:
            _developer_api_only(getattr(value, name), (*path, _camel(name)))
    elif isinstance(value, dict):
        for key, item in value.items():
            _developer_api_only(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _developer_api_only(item, (*path, i))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@functools.cache
def _embed_content_request() -> dict[str, TypeAdapter[Any]]:
    """A TypeAdapter per field of one `EmbedContentRequest`, from `google.genai.types` (the
    SDK's `EmbedContentConfig` fields are what it puts beside `model` and `content`)."""
    from google.genai import types

    config = types.EmbedContentConfig.model_fields
    return {
        "model": TypeAdapter(str),
        "content": TypeAdapter(types.Content),
        "taskType": TypeAdapter(config["task_type"].annotation),
        "title": TypeAdapter(config["title"].annotation),
        "outputDimensionality": TypeAdapter(config["output_dimensionality"].annotation),
    }


def gemini_embedding_problem(body: dict[str, Any], model: str) -> str | None:
    """A v1beta `BatchEmbedContentsRequest` for `models/{model}`: `requests`, each an
    `EmbedContentRequest` of that same model, by `google.genai.types`; unknown names refused."""
    try:
        _check_batch(body, model)
    except Invalid as invalid:
        if invalid.kind != "extra_forbidden":
            return f"* BatchEmbedContentsRequest.{invalid.explain(body)}"
        name, at = invalid.path[-1], dotted(body, invalid.path[:-1])
        where = f" at '{at}'" if at else ""
        return f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
    return None


def _check_batch(body: dict[str, Any], model: str) -> None:
    for key in body:
        if key != "requests":
            raise Invalid((key,), "Cannot find field.", kind="extra_forbidden")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise Invalid((), "requests is not specified", "requests")
    fields = _embed_content_request()
    for i, request in enumerate(requests):
        where: Path = ("requests", i)
        if not isinstance(request, dict):
            raise Invalid(where, "Invalid value: expected an EmbedContentRequest")
        for key, value in request.items():
            name = _camel(key)
            if name not in fields:
                raise Invalid((*where, key), "Cannot find field.", kind="extra_forbidden")
            _developer_api_only(validated(fields[name], value, (*where, key)), (*where, key))
        if request.get("model") != f"models/{model}":
            raise Invalid(
                (*where, "model"),
                f"Model {request.get('model')!r} does not match models/{model} in the URL.",
            )
        if "content" not in request:
            raise Invalid(where, "content is not specified", "content")
        _check_parts(request["content"].get("parts") or [], (*where, "content", "parts"))
        if not request["content"].get("parts"):
            raise Invalid((*where, "content"), "content.parts must not be empty.", "parts")
