"""Claude's signed thinking as OpenAI-shaped `reasoning_details`, out and back in.

Claude signs each thinking block (or sends it redacted, encrypted). When a conversation goes on
after a tool call, the assistant turn must carry its thinking blocks back unchanged, signature
and all, or Claude refuses it. Answers therefore carry them as `reasoning_details` items, the
shape OpenRouter's clients already echo; the same items on a request's assistant message become
thinking blocks again. Claude on Anthropic's API and on Bedrock share the format.
"""

from __future__ import annotations

from typing import Any

FORMAT = "anthropic-claude-v1"

Detail = dict[str, Any]


def text_detail(index: int, text: str | None = None, signature: str | None = None) -> Detail:
    detail: Detail = {"type": "reasoning.text", "format": FORMAT, "index": index}
    if text is not None:
        detail["text"] = text
    if signature is not None:
        detail["signature"] = signature
    return detail


def encrypted_detail(index: int, data: str) -> Detail:
    return {"type": "reasoning.encrypted", "data": data, "format": FORMAT, "index": index}


def signed_thinking(message: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """An assistant message's thinking to send back to Claude, in order:
    ("text", thinking, signature) or ("encrypted", data, None).

    Streamed details arrive in pieces sharing an index; a client may echo them unmerged, so
    pieces of one index are joined here. Details from another model family, and unsigned text
    Claude would refuse, are left out.
    """
    details = message.get("reasoning_details")
    if not isinstance(details, list):
        return []
    merged: dict[int, Detail] = {}
    for position, detail in enumerate(details):
        if not isinstance(detail, dict) or detail.get("format", FORMAT) != FORMAT:
            continue
        index = detail.get("index")
        key = index if isinstance(index, int) else -1 - position
        whole = merged.setdefault(key, {"type": detail.get("type")})
        if isinstance(detail.get("text"), str):
            whole["text"] = whole.get("text", "") + detail["text"]
        for field in ("signature", "data"):
            if isinstance(detail.get(field), str):
                whole[field] = detail[field]
    thinking: list[tuple[str, str, str | None]] = []
    for detail in merged.values():
        if detail["type"] == "reasoning.text" and "signature" in detail:
            thinking.append(("text", detail.get("text", ""), detail["signature"]))
        elif detail["type"] == "reasoning.encrypted" and "data" in detail:
            thinking.append(("encrypted", detail["data"], None))
    return thinking
