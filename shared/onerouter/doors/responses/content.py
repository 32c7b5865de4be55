"""Content parts of Responses input messages as chat content parts."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from .stateless import stateless


def user_content(content: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content: must be a string or a list", param=where)
    return [_part(part, f"{where}.content[{k}]") for k, part in enumerate(content)]


def _part(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": _string(part, "text", where)}
    if kind == "input_image":
        if part.get("file_id"):
            raise stateless("An image by file_id", f"{where}.file_id")
        image = {"url": _string(part, "image_url", where)}
        if part.get("detail") is not None:
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        if part.get("file_id"):
            raise stateless("A file by file_id", f"{where}.file_id")
        if part.get("file_url"):
            raise InvalidRequest(
                f"{where}.file_url: files by URL are not supported; send file_data",
                param=f"{where}.file_url",
            )
        file = {"file_data": _string(part, "file_data", where)}
        if part.get("filename") is not None:
            file["filename"] = part["filename"]
        return {"type": "file", "file": file}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": part.get("input_audio")}
    raise InvalidRequest(f"{where}: content part of type {kind!r} is not supported", param=where)


def _string(part: dict[str, Any], name: str, where: str) -> str:
    value = part.get(name)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.{name}: must be a string", param=f"{where}.{name}")
    return value


def assistant_text(content: Any, where: str) -> str:
    """An earlier answer's text: output_text parts (and refusals) joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content: must be a string or a list", param=where)
    texts = []
    for k, part in enumerate(content):
        here = f"{where}.content[{k}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("output_text", "input_text", "text"):
            texts.append(_string(part, "text", here))
        elif kind == "refusal":
            texts.append(_string(part, "refusal", here))
        else:
            raise InvalidRequest(f"{here}: {kind!r} is not supported in an assistant message")
    return "".join(texts)


def text_only(output: Any, where: str) -> str:
    if not isinstance(output, list):
        raise InvalidRequest(f"{where}: must be a string or a list of parts", param=where)
    texts = []
    for k, part in enumerate(output):
        here = f"{where}[{k}]"
        if not isinstance(part, dict) or part.get("type") not in ("input_text", "output_text"):
            kind = part.get("type") if isinstance(part, dict) else None
            raise InvalidRequest(
                f"{here}: a function_call_output takes text here, not {kind!r}", param=here
            )
        texts.append(_string(part, "text", here))
    return "".join(texts)
