"""Reasoning a provider signed (OpenRouter-style `reasoning_details`), carried in a Responses
reasoning item's `encrypted_content` so a client that sends the item back sends it back whole.

The details are the same ones the chat door returns in the open, so this is an envelope, not a
secret: it only has to survive the round trip through a client unchanged.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

_PREFIX = "onerouter.v1."


def encode(details: list[dict[str, Any]]) -> str | None:
    if not details:
        return None
    return _PREFIX + base64.urlsafe_b64encode(orjson.dumps(details)).decode()


def decode(content: Any) -> list[dict[str, Any]]:
    """The details inside `encrypted_content`; [] for another service's or a damaged one."""
    if not isinstance(content, str) or not content.startswith(_PREFIX):
        return []
    try:
        details = orjson.loads(base64.urlsafe_b64decode(content[len(_PREFIX) :]))
    except (binascii.Error, ValueError):
        return []
    if not isinstance(details, list):
        return []
    return [d for d in details if isinstance(d, dict)]
