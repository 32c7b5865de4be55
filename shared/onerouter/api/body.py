"""Reading and validating a request body: bounded in size, strict in syntax, clear in its errors."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from ..errors import InvalidRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)
# Pydantic names the union member it tried; OpenAI's parameter names leave those out.
_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})


async def read_json(request: Request, limit: int, *, allow_empty: bool = False) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw and allow_empty:
        return {}
    if not raw:
        raise InvalidRequest("The request body is empty; send a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"The request body is not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def validate(schema: type[M], body: dict[str, Any]) -> M:
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> InvalidRequest:
    first = exc.errors(include_url=False, include_input=False)[0]
    param = _param(first["loc"])
    message = first["msg"]
    if first["type"] == "missing":
        message = "is required"
    elif first["type"] == "extra_forbidden":
        message = "is not a recognised field"
    return InvalidRequest(f"Invalid request: {param or 'body'} {message}.", param=param)


def _param(loc: tuple[int | str, ...]) -> str | None:
    # messages.0.content -> messages[0].content, as OpenAI names parameters.
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _TYPE_NAMES or "[" in part or "(" in part:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or None
