"""The internal request: what every front door translates its wire format into.

OpenAI's Chat Completions shape is the lingua franca. Fields we do not model are kept
(`extra="allow"`) so they pass through to OpenAI-compatible providers, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from .billing.money import parse_usd

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
Effort = Literal["xhigh", "high", "medium", "low", "minimal", "none"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=False)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContentPart(_Open):
    type: str


class ToolCallFunction(_Open):
    name: str
    arguments: str


class ToolCall(_Open):
    id: str
    type: str = "function"
    function: ToolCallFunction


class Message(_Open):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDef(_Open):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(_Open):
    type: str = "function"
    function: FunctionDef


class ResponseFormat(_Open):
    type: Literal["text", "json_object", "json_schema"]


def _usd(value: Any) -> Decimal:
    return parse_usd(value, field="max_price")


Usd = Annotated[Decimal, BeforeValidator(_usd)]


class MaxPrice(_Closed):
    """The most the caller will pay: USD per million tokens, per request, per image."""

    prompt: Usd | None = None
    completion: Usd | None = None
    request: Usd | None = None
    image: Usd | None = None


class ProviderPreferences(_Closed):
    """Routing preferences as OpenRouter users know them; unknown keys are a 400."""

    order: list[str] | None = None
    only: list[str] | None = None
    ignore: list[str] | None = None
    allow_fallbacks: bool = True
    sort: Literal["price", "latency", "throughput"] | None = None
    data_collection: Literal["allow", "deny"] | None = None
    require_parameters: bool = False
    max_price: MaxPrice | None = None


class FallbackRules(_Closed):
    """When a failed or slow endpoint gives way to the next one (`fallback_rules`); unknown
    keys are a 400. The string "auto" (the default) is None: `routing/fallback_rules.py`."""

    # Statuses that fall back, replacing auto's set; None: auto's.
    status_codes: list[Annotated[int, Field(ge=400, le=599)]] | None = None
    # Failures without a status (refused, reset, timed out, malformed) fall back.
    connection_errors: bool = True
    max_ttft_ms: int | None = Field(default=None, gt=0)
    max_latency_ms: int | None = Field(default=None, gt=0)


def _auto(value: Any) -> Any:
    if value == "auto":
        return None
    if isinstance(value, str):
        raise ValueError('must be "auto" or an object')
    return value


Rules = Annotated[FallbackRules | None, BeforeValidator(_auto)]


class ByokCredentials(_Closed):
    """The caller's own credential for one provider. Never logged, never echoed in an error,
    never part of the prompt cache's key."""

    api_key: str = Field(min_length=1, max_length=4096, pattern=r"^\S+$", repr=False)


class ByokConf(_Closed):
    """`byok_conf`: call `provider` with the caller's own credentials. With `fallback`, a
    failure may move on to the gateway's shared keys (and be charged); without it, only the
    caller's key serves."""

    provider: str = Field(min_length=1, max_length=100)
    credentials: ByokCredentials
    fallback: bool = False


class UsageOptions(_Closed):
    include: bool = False


class Reasoning(_Closed):
    effort: Effort | None = None
    max_tokens: int | None = Field(default=None, ge=0)
    exclude: bool = False
    enabled: bool | None = None


class _Common(_Open):
    """Parameters shared by chat and legacy completions, with OpenAI's own bounds."""

    model: str = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1, le=128)
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    seed: int | None = None
    user: str | None = None
    # Gateway extras (OneRouter's and OpenRouter's spellings); never sent upstream.
    models: list[str] | None = None
    fallback_models: list[str] | None = None
    provider: ProviderPreferences | None = None
    fallback_rules: Rules = None
    byok_conf: ByokConf | None = None
    usage: UsageOptions | None = None
    reasoning: Reasoning | None = None

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value


class ChatRequest(_Common):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    reasoning_effort: Effort | None = None


class CompletionRequest(_Common):
    prompt: str | list[str] | list[int] | list[list[int]]
    suffix: str | None = None
    echo: bool | None = None
    best_of: int | None = Field(default=None, ge=1)
    logprobs: int | None = Field(default=None, ge=0, le=5)


class EmbeddingRequest(_Open):
    """OpenAI's Embeddings request, with the gateway's routing extras."""

    model: str = Field(min_length=1)
    # Text, texts, or token arrays (only providers that take tokens accept those).
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, gt=0)
    user: str | None = None
    models: list[str] | None = None
    fallback_models: list[str] | None = None
    provider: ProviderPreferences | None = None
    fallback_rules: Rules = None
    byok_conf: ByokConf | None = None
    usage: UsageOptions | None = None

    @field_validator("input")
    @classmethod
    def _not_empty(
        cls, value: str | list[str] | list[int] | list[list[int]]
    ) -> str | list[str] | list[int] | list[list[int]]:
        if value in ("", []) or (isinstance(value, list) and any(v in ("", []) for v in value)):
            raise ValueError("must not be empty")
        if isinstance(value, list) and len(value) > MAX_EMBEDDING_INPUTS:
            raise ValueError(f"at most {MAX_EMBEDDING_INPUTS} inputs")
        return value

    @property
    def texts(self) -> list[str] | None:
        """The inputs as texts; None when they are token arrays."""
        if isinstance(self.input, str):
            return [self.input]
        if all(isinstance(item, str) for item in self.input):
            return [item for item in self.input if isinstance(item, str)]
        return None


# OpenAI's limit on inputs in one embeddings request.
MAX_EMBEDDING_INPUTS = 2048

# Keys of the wire body that steer the gateway and are never forwarded to a provider.
GATEWAY_FIELDS = frozenset(
    {
        "models",
        "fallback_models",
        "provider",
        "fallback_rules",
        "byok_conf",
        "usage",
        "reasoning",
        "transforms",
        "route",
    }
)

Operation = Literal["chat", "completion", "embedding"]
# What a model is for: chat models serve chat (and the front doors built on it), embedding
# models serve embeddings.
ModelKind = Literal["chat", "embedding"]


@dataclass(slots=True)
class GatewayRequest:
    """A validated request: typed parameters plus the body exactly as the client sent it."""

    operation: Operation
    params: ChatRequest | CompletionRequest
    raw: dict[str, Any]
    # Anthropic beta features the client asked for (its `anthropic-beta` header), for Claude.
    anthropic_beta: tuple[str, ...] = ()

    @staticmethod
    def betas(header: str | None) -> tuple[str, ...]:
        """The features named in an `anthropic-beta` header (comma-separated)."""
        if not header:
            return ()
        return tuple(name for name in (part.strip() for part in header.split(",")) if name)

    @property
    def stream(self) -> bool:
        return self.params.stream

    @property
    def include_cost(self) -> bool:
        """The client asked for the cost: OpenRouter's `usage: {"include": true}`."""
        return bool(self.params.usage and self.params.usage.include)

    @property
    def include_usage(self) -> bool:
        """The client asked to see usage: OpenAI's stream option or OpenRouter's `usage`."""
        options = self.params.stream_options or {}
        return bool(options.get("include_usage")) or bool(
            self.params.usage and self.params.usage.include
        )


@dataclass(slots=True)
class EmbeddingGatewayRequest:
    """A validated embeddings request: what `GatewayRequest` is to chat, for POST /v1/embeddings.

    Its own type, so chat's translations never see one; routing, the cache and billing take
    either."""

    params: EmbeddingRequest
    raw: dict[str, Any]
    operation: Literal["embedding"] = "embedding"
    anthropic_beta: tuple[str, ...] = ()

    @property
    def stream(self) -> bool:
        return False

    @property
    def include_cost(self) -> bool:
        return bool(self.params.usage and self.params.usage.include)

    @property
    def include_usage(self) -> bool:
        return True


# Any request the pipeline serves.
AnyRequest = GatewayRequest | EmbeddingGatewayRequest
