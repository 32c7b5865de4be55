"""What a request needs of an endpoint: features, input kinds, parameters, and room.

Worked out once per request from its body, in one pass over the messages, so that choosing
among endpoints is set look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..requests import AnyRequest, ChatRequest, EmbeddingGatewayRequest

# OpenRouter's names for the parameters an endpoint may or may not support. What every
# protocol's translation carries:
_CORE = frozenset(
    {
        "tools",
        "tool_choice",
        "response_format",
        "structured_outputs",
        "reasoning",
        "include_reasoning",
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
    }
)
_CLAUDE = _CORE | {"parallel_tool_calls"}
_GEMINI = _CORE | {"seed", "n", "presence_penalty", "frequency_penalty"}
# ...and what only OpenAI-compatible APIs take.
_CHAT_PARAMETERS = (
    _CLAUDE
    | _GEMINI
    | {
        "min_p",
        "top_a",
        "repetition_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "web_search_options",
        "verbosity",
    }
)
# Embeddings' own: an output size other than the model's.
_EMBEDDING_PARAMETERS = frozenset({"dimensions"})
PARAMETERS = _CHAT_PARAMETERS | _EMBEDDING_PARAMETERS
# What each protocol's translation carries; an endpoint's catalog entry may narrow it.
PROTOCOL_PARAMETERS: dict[str, frozenset[str]] = {
    "openai": PARAMETERS,
    "azure": PARAMETERS,
    "anthropic": _CLAUDE,
    "bedrock": _CLAUDE | _EMBEDDING_PARAMETERS,
    "gemini": _GEMINI | _EMBEDDING_PARAMETERS,
}
# Protocols whose embeddings take token arrays as input (the others take only text).
TOKEN_INPUT_PROTOCOLS = frozenset({"openai", "azure"})

# Features an endpoint must have whatever the caller's preferences: without them the answer
# would be wrong, not just different.
ESSENTIAL = frozenset({"tools", "structured_outputs", "dimensions"})

_PART_MODALITIES = {"image_url": "image", "file": "file", "input_audio": "audio"}
# A rough count for the context check: about four characters a token, and images priced at
# a typical tile count. It errs low, so an endpoint is never skipped for a guess.
_CHARS_PER_TOKEN = 4
_IMAGE_TOKENS = 800
# Expected answer length, for weighing prices, when the request sets no max_tokens.
TYPICAL_COMPLETION = 500


@dataclass(frozen=True, slots=True)
class Needs:
    parameters: frozenset[str]
    modalities: frozenset[str]
    prompt_tokens: int
    max_tokens: int | None
    images: int
    # Where each non-text input first appears: (message, part) indexes and the part's type.
    parts: dict[str, tuple[int, int, str]]
    # Embeddings: the longest single input (each input must fit the context on its own), and
    # whether the inputs are token arrays rather than text.
    longest_input: int | None = None
    token_input: bool = False

    @property
    def essential(self) -> frozenset[str]:
        return self.parameters & ESSENTIAL

    @property
    def completion_tokens(self) -> int:
        return self.max_tokens or TYPICAL_COMPLETION


def needs_of(request: AnyRequest) -> Needs:
    if isinstance(request, EmbeddingGatewayRequest):
        return _embedding_needs(request)
    raw = request.raw
    params = request.params
    # An empty list or object (`tools: []`) asks for nothing.
    parameters = {
        name for name in _CHAT_PARAMETERS.intersection(raw) if raw[name] not in (None, [], {})
    }
    if "max_completion_tokens" in raw:
        parameters.add("max_tokens")
    if "reasoning_effort" in raw:
        parameters.add("reasoning")
    if isinstance(params, ChatRequest) and params.response_format is not None:
        if params.response_format.type == "json_schema":
            parameters.add("structured_outputs")
        elif params.response_format.type == "text":
            parameters.discard("response_format")
    chars = 0
    images = 0
    modalities = {"text"}
    parts: dict[str, tuple[int, int, str]] = {}
    if isinstance(params, ChatRequest):
        for i, message in enumerate(raw.get("messages") or ()):
            if not isinstance(message, dict):
                continue
            content = message.get("content")
            if isinstance(content, str):
                chars += len(content)
            elif isinstance(content, list):
                for j, part in enumerate(content):
                    if not isinstance(part, dict):
                        continue
                    kind = part.get("type")
                    if kind == "text" and isinstance(part.get("text"), str):
                        chars += len(part["text"])
                    elif kind in _PART_MODALITIES:
                        modality = _PART_MODALITIES[kind]
                        modalities.add(modality)
                        parts.setdefault(modality, (i, j, kind))
                        images += kind == "image_url"
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict):
                    chars += len(str((call.get("function") or {}).get("arguments") or ""))
            if message.get("role") == "tool":
                parameters.add("tools")
        if params.tools:
            parameters.add("tools")
            chars += sum(len(str(tool.function.parameters or "")) for tool in params.tools)
    else:
        prompt = raw.get("prompt")
        chars += len(prompt) if isinstance(prompt, str) else len(str(prompt or ""))
    max_tokens = getattr(params, "max_completion_tokens", None) or params.max_tokens
    return Needs(
        parameters=frozenset(parameters),
        modalities=frozenset(modalities),
        prompt_tokens=chars // _CHARS_PER_TOKEN + images * _IMAGE_TOKENS,
        max_tokens=max_tokens,
        images=images,
        parts=parts,
    )


def _embedding_needs(request: EmbeddingGatewayRequest) -> Needs:
    """An embeddings request's size: token arrays counted exactly, text estimated."""
    given = request.params.input
    items: list[str | list[int]]
    if isinstance(given, str):
        items = [given]
    elif given and all(isinstance(item, int) for item in given):
        items = [[item for item in given if isinstance(item, int)]]
    else:
        items = [item for item in given if isinstance(item, (str, list))]
    # Billed by this estimate when the provider counts nothing, so rounded up; the context
    # check errs low, as for chat.
    sizes = [
        -(-len(item) // _CHARS_PER_TOKEN) if isinstance(item, str) else len(item) for item in items
    ]
    floors = [
        len(item) // _CHARS_PER_TOKEN if isinstance(item, str) else len(item) for item in items
    ]
    dimensions = request.params.dimensions is not None
    return Needs(
        parameters=_EMBEDDING_PARAMETERS if dimensions else frozenset(),
        modalities=frozenset({"text"}),
        prompt_tokens=sum(sizes),
        max_tokens=None,
        images=0,
        parts={},
        longest_input=max(floors, default=0),
        token_input=any(not isinstance(item, str) for item in items),
    )
