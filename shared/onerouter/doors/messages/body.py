"""The Messages API's request body, validated: the shapes of the `anthropic` SDK's
`MessageCreateParams` and `MessageCountTokensParams`.

Unknown top-level keys are a 400, so a parameter the gateway would not honour is never dropped
in silence; content blocks may carry keys of their own (citations, titles) that the gateway
leaves behind. Unions list the block form first, so a refused block is the error named.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


def parse(schema: type[M], body: dict[str, Any]) -> M:
    """`body` validated; else a 400 naming the place as the request does (`messages[0]
    .content[1].source`), without the union members and tags pydantic puts in its path."""
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        param = _where(body, first["loc"])
        message = first["msg"]
        if first["type"] == "missing":
            message = "is required"
        elif first["type"] == "extra_forbidden":
            message = "is not a recognised field"
        raise InvalidRequest(f"Invalid request: {param} {message}.", param=param) from None


def _where(body: Any, loc: tuple[int | str, ...]) -> str:
    out, node = "", body
    for k, key in enumerate(loc):
        if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node, out = node[key], f"{out}[{key}]"
        elif isinstance(node, dict) and (key in node or k == len(loc) - 1):
            node, out = node.get(str(key)), f"{out}.{key}" if out else str(key)
    return out or "body"


# defer_build: the schemas are built on the first Messages request, not at import: an instance
# that only serves chat completions never pays the ~20 ms (the cold start).
class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


class CacheControl(_Closed):
    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class Base64Source(_Closed):
    type: Literal["base64"]
    media_type: str
    data: str


class UrlSource(_Closed):
    type: Literal["url"]
    url: str


class FileSource(_Closed):
    type: Literal["file"]
    file_id: str


class PlainTextSource(_Closed):
    type: Literal["text"]
    media_type: str = "text/plain"
    data: str


class TextBlock(_Open):
    type: Literal["text"]
    text: str
    cache_control: CacheControl | None = None


class ImageBlock(_Open):
    type: Literal["image"]
    source: Annotated[Base64Source | UrlSource | FileSource, Field(discriminator="type")]
    cache_control: CacheControl | None = None


class ContentSource(_Closed):
    type: Literal["content"]
    content: list[Annotated[TextBlock | ImageBlock, Field(discriminator="type")]] | str


class DocumentBlock(_Open):
    type: Literal["document"]
    source: Annotated[
        Base64Source | UrlSource | FileSource | PlainTextSource | ContentSource,
        Field(discriminator="type"),
    ]
    title: str | None = None
    cache_control: CacheControl | None = None


ResultPart = Annotated[TextBlock | ImageBlock | DocumentBlock, Field(discriminator="type")]


class ToolUseBlock(_Open):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheControl | None = None


class ToolResultBlock(_Open):
    type: Literal["tool_result"]
    tool_use_id: str
    content: list[ResultPart] | str | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlock(_Open):
    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlock(_Open):
    type: Literal["redacted_thinking"]
    data: str


ContentBlock = Annotated[
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock,
    Field(discriminator="type"),
]


class MessageParam(_Closed):
    role: Literal["user", "assistant"]
    content: list[ContentBlock] | str


class Tool(_Open):
    """A client tool; Anthropic's server tools (web search, code execution) are not served."""

    type: Literal["custom"] | None = None
    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    input_schema: dict[str, Any]
    cache_control: CacheControl | None = None


class ToolChoice(_Closed):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Thinking(_Closed):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = Field(default=None, ge=1)
    display: Literal["summarized", "omitted"] | None = None


class OutputConfig(_Closed):
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    format: dict[str, Any] | None = None


class Metadata(_Closed):
    user_id: str | None = None


class CountTokensBody(_Closed):
    """`POST /v1/messages/count_tokens`: what a request would send, without the answer's knobs."""

    model: str = Field(min_length=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: list[TextBlock] | str | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    # Anthropic's server-side clearing of old context (a beta Claude Code may send): accepted
    # so such clients work, and not applied; the conversation goes as sent.
    context_management: dict[str, Any] | None = None
    # The gateway's own routing extras, as on chat completions.
    models: list[str] | None = None
    fallback_models: list[str] | None = None
    provider: dict[str, Any] | None = None
    # Checked as chat checks it ("auto" or the rules object).
    fallback_rules: str | dict[str, Any] | None = None
    byok_conf: dict[str, Any] | None = None


class MessagesBody(CountTokensBody):
    """`POST /v1/messages`."""

    max_tokens: int = Field(ge=1)
    stream: bool = False
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    metadata: Metadata | None = None
    # A hint about capacity tiers; every request here is served at the provider's default.
    service_tier: Literal["auto", "standard_only"] | None = None
