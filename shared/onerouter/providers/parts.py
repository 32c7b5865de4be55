"""Pieces every translation needs: content parts read from OpenAI's shape, usage written to it."""

from __future__ import annotations

from typing import Any

import orjson

from ..errors import InvalidRequest


def unsupported(part: dict[str, Any], where: str, model: str) -> InvalidRequest:
    return InvalidRequest(
        f"{where}: content part of type {part.get('type')!r} is not supported by {model}",
        param=where,
    )


def data_url(url: str, where: str, model: str) -> tuple[str, str]:
    """(media type, base64 data) of a `data:<media>;base64,<data>` URL."""
    head, comma, data = url.partition(",")
    if not comma or not head.startswith("data:") or not head.endswith(";base64"):
        raise InvalidRequest(f"{where}: {model} takes only base64 data: URLs", param=where)
    return head[5:-7], data


def image_url(part: dict[str, Any], where: str) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise InvalidRequest(f"{where}: image_url.url is missing", param=where)
    return url


def usage(fresh: int, read: int, written: int, completion: int) -> dict[str, Any]:
    """OpenAI's usage from providers that count cached prompt tokens apart from fresh ones."""
    prompt = fresh + read + written
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": written},
    }


def arguments(tool_input: Any) -> str:
    """A tool call's input object as OpenAI's JSON `arguments` string."""
    return orjson.dumps(tool_input if tool_input is not None else {}).decode()
