"""Splitting an OpenAI conversation into a system prompt and alternating turns.

Anthropic's Messages API and Bedrock's Converse both want the system prompt apart, only `user`
and `assistant` turns, tool results inside a user turn, and consecutive same-role turns merged.
Each protocol brings its own content-block builders; the walk over the messages is shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest

Block = dict[str, Any]
Turns = list[tuple[str, list[Block]]]


@dataclass(frozen=True)
class BlockBuilders:
    """A protocol's builders; each gets the part to translate, where it is, and the model id."""

    text: Callable[[Any, str, str], list[Block]]
    user: Callable[[Any, str, str], list[Block]]
    assistant: Callable[[dict[str, Any], str, str], list[Block]]
    tool_result: Callable[[dict[str, Any], str, str], Block]


def split_conversation(
    messages: list[Any], model: str, build: BlockBuilders
) -> tuple[list[Block], Turns]:
    system: list[Block] = []
    turns: Turns = []
    for i, message in enumerate(messages):
        role = message.get("role")
        where = f"messages[{i}]"
        if role in ("system", "developer"):
            system += build.text(message.get("content"), where, model)
            continue
        if role == "user":
            blocks = build.user(message.get("content"), where, model)
        elif role == "assistant":
            blocks = build.assistant(message, where, model)
        elif role == "tool":
            role, blocks = "user", [build.tool_result(message, where, model)]
        else:
            raise InvalidRequest(f"{where}: role {role!r} is not supported by {model}")
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    return system, turns
