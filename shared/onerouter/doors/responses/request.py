"""A Responses API request body as the internal chat request body (OpenAI Chat Completions shape).

The endpoint is stateless: a request must carry the whole conversation as `input`, so anything
that points at stored state (`previous_response_id`, `store: true`, `conversation`, stored
prompts, `item_reference`, `file_id`) is a 400 saying so.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from . import reasoning
from .content import assistant_text, text_only, user_content
from .stateless import StatelessEndpoint, stateless

__all__ = ["StatelessEndpoint", "renamed", "to_chat_body"]

# Responses fields with a chat equivalent of the same name and meaning.
_SAME = ("model", "temperature", "top_p", "user", "parallel_tool_calls", "stream")
# Handled below, or meaningless to a chat request (echoed in the answer, or ignored).
_CONSUMED = frozenset(
    {
        *_SAME,
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "text",
        "reasoning",
        "max_output_tokens",
        "metadata",  # echoed; OpenAI's chat refuses metadata unless it stores the answer
        "store",
        "previous_response_id",
        "background",
        "include",  # encrypted reasoning comes back whenever there is some
        "truncation",
        "stream_options",
        "top_logprobs",
        "max_tool_calls",
    }
)
# Chat parameters a 400 may name, as the Responses client called them.
_NAMES = {
    "max_completion_tokens": "max_output_tokens",
    "response_format": "text.format",
    "messages": "input",  # its indexes are not input's: named as a whole
}
# Keys of OneRouter's `reasoning` a Responses `reasoning` may also carry.
_REASONING_KEYS = ("effort", "max_tokens", "exclude", "enabled")


def to_chat_body(body: dict[str, Any]) -> dict[str, Any]:
    """The chat request body for a Responses request body; fields it does not know pass on."""
    _refuse_state(body)
    chat: dict[str, Any] = {k: v for k, v in body.items() if k not in _CONSUMED}
    chat.update({k: body[k] for k in _SAME if body.get(k) is not None})
    messages = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    elif instructions is not None and not isinstance(instructions, str):
        raise InvalidRequest("instructions: must be a string", param="instructions")
    messages += input_messages(body.get("input"))
    if not messages:
        raise InvalidRequest("input: is required", param="input")
    chat["messages"] = messages
    if body.get("tools"):
        chat["tools"] = tools(body["tools"])
    if body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"], chat)
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    if (response_format := _response_format(body.get("text"))) is not None:
        chat["response_format"] = response_format
    if isinstance(body.get("text"), dict) and body["text"].get("verbosity") is not None:
        chat["verbosity"] = body["text"]["verbosity"]
    if isinstance(body.get("reasoning"), dict):
        kept = {k: body["reasoning"][k] for k in _REASONING_KEYS if k in body["reasoning"]}
        if kept.get("effort") is None:
            kept.pop("effort", None)
        if kept:
            chat["reasoning"] = kept
    if body.get("stream"):
        # The usage chunk is where response.completed gets its usage from.
        chat["stream_options"] = {"include_usage": True}
    return chat


def renamed(error: InvalidRequest) -> InvalidRequest:
    """A 400 about the chat request, naming the parameter as the Responses request has it."""
    param = error.param or ""
    head = param.replace("[", ".").split(".", 1)[0]
    if head not in _NAMES:
        return error
    name = _NAMES[head] if head == "messages" else _NAMES[head] + param[len(head) :]
    return InvalidRequest(error.message.replace(param, name), param=name)


def _refuse_state(body: dict[str, Any]) -> None:
    if body.get("previous_response_id"):
        raise stateless("previous_response_id", "previous_response_id")
    if body.get("store") is True:
        raise stateless("store: true", "store")
    if body.get("conversation"):
        raise stateless("conversation", "conversation")
    if body.get("prompt"):
        raise stateless("A stored prompt (`prompt`)", "prompt")
    if body.get("background") is True:
        raise stateless("background: true", "background")


# ---- input ------------------------------------------------------------------------------------


def input_messages(items: Any) -> list[dict[str, Any]]:
    """Chat messages for `input`: a string is one user message; items are read in order."""
    if items is None:
        return []
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise InvalidRequest("input: must be a string or a list of items", param="input")
    turns = _Turns()
    for k, item in enumerate(items):
        where = f"input[{k}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where}: must be an object", param=where)
        kind = item.get("type", "message")
        if kind == "message":
            turns.message(item, where)
        elif kind == "function_call":
            turns.function_call(item, where)
        elif kind == "function_call_output":
            turns.function_output(item, where)
        elif kind == "reasoning":
            turns.reasoning(item)
        elif kind == "item_reference":
            raise stateless("item_reference", where)
        else:
            raise InvalidRequest(
                f"{where}: input items of type {kind!r} are not supported; this endpoint takes "
                "messages, function_call, function_call_output and reasoning items",
                param=f"{where}.type",
            )
    return turns.messages


class _Turns:
    """Builds chat messages from items: a model turn's message, reasoning and function calls
    (consecutive items) become one assistant message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._assistant: dict[str, Any] | None = None  # the model turn being built
        self._details: list[dict[str, Any]] = []  # reasoning waiting for its turn

    def _turn(self) -> dict[str, Any]:
        if self._assistant is None:
            self._assistant = {"role": "assistant", "content": None}
            self.messages.append(self._assistant)
        if self._details:
            self._assistant.setdefault("reasoning_details", []).extend(self._details)
            self._details = []
        return self._assistant

    def _other(self, message: dict[str, Any]) -> None:
        self._assistant = None
        self.messages.append(message)

    def message(self, item: dict[str, Any], where: str) -> None:
        role = item.get("role")
        if role == "assistant":
            turn = self._turn()
            text = assistant_text(item.get("content"), where)
            if turn.get("tool_calls") or turn["content"] is not None:
                # Text after this turn's calls (or a second message): a turn of its own.
                self._assistant = None
                turn = self._turn()
            turn["content"] = text
        elif role in ("user", "system", "developer"):
            self._other({"role": role, "content": user_content(item.get("content"), where)})
        else:
            raise InvalidRequest(f"{where}.role: unknown role {role!r}", param=f"{where}.role")

    def function_call(self, item: dict[str, Any], where: str) -> None:
        call_id, name = item.get("call_id"), item.get("name")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(f"{where}.call_id: is required", param=f"{where}.call_id")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"{where}.name: is required", param=f"{where}.name")
        arguments = item.get("arguments")
        function = {"name": name, "arguments": arguments if isinstance(arguments, str) else "{}"}
        call = {"id": call_id, "type": "function", "function": function}
        self._turn().setdefault("tool_calls", []).append(call)

    def function_output(self, item: dict[str, Any], where: str) -> None:
        call_id = item.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(f"{where}.call_id: is required", param=f"{where}.call_id")
        output = item.get("output")
        content = output if isinstance(output, str) else text_only(output, f"{where}.output")
        self._other({"role": "tool", "tool_call_id": call_id, "content": content})

    def reasoning(self, item: dict[str, Any]) -> None:
        # Only reasoning this gateway gave out can go back (as the provider's signed
        # thinking); another service's encrypted reasoning means nothing to a provider here.
        details = reasoning.decode(item.get("encrypted_content"))
        if details:
            self._details.extend(details)


# ---- tools and formats ------------------------------------------------------------------------


def tools(declared: Any) -> list[dict[str, Any]]:
    if not isinstance(declared, list):
        raise InvalidRequest("tools: must be a list", param="tools")
    chat = []
    for k, tool in enumerate(declared):
        where = f"tools[{k}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise InvalidRequest(
                f"{where}: tools of type {kind!r} are not supported; only function tools are "
                "(built-in tools such as web_search, file_search or code_interpreter are not)",
                param=f"{where}.type",
            )
        assert isinstance(tool, dict)
        function = {"name": tool.get("name")}
        for name in ("description", "parameters", "strict"):
            if tool.get(name) is not None:
                function[name] = tool[name]
        chat.append({"type": "function", "function": function})
    return chat


def _tool_choice(choice: Any, chat: dict[str, Any]) -> None:
    if isinstance(choice, str):
        chat["tool_choice"] = choice
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "function" and isinstance(choice, dict):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif kind == "allowed_tools" and isinstance(choice, dict):
        # Chat has no portable allowed-tools choice: offer only the allowed tools instead.
        names = {t.get("name") for t in choice.get("tools") or () if isinstance(t, dict)}
        chat["tools"] = [t for t in chat.get("tools", ()) if t["function"]["name"] in names]
        chat["tool_choice"] = choice.get("mode", "auto")
    else:
        raise InvalidRequest(
            f"tool_choice: {kind!r} is not supported; use auto, none, required, a function "
            "or allowed_tools",
            param="tool_choice",
        )


def _response_format(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if fmt is None or kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema" and isinstance(fmt, dict):
        schema = {k: fmt[k] for k in ("name", "schema", "description", "strict") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    raise InvalidRequest(f"text.format: unknown type {kind!r}", param="text.format.type")
