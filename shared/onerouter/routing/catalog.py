"""The model catalog: which models exist, who serves them, at what price.

Loaded from YAML and validated once, at start-up; an invalid catalog stops start-up with a
message naming the file, the entry and the field.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..requests import ModelKind
from .needs import PARAMETERS

# libyaml's parser where installed: several times faster than the pure-Python one.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Protocol = Literal["openai", "anthropic", "gemini", "bedrock", "azure"]
Modality = Literal["text", "image", "file", "audio"]
# The protocols whose adapters serve embeddings.
EMBEDDING_PROTOCOLS = frozenset({"openai", "azure", "gemini", "bedrock"})


class CatalogError(ValueError):
    """The catalog cannot be used; the message says where and why."""


def _exact_decimal(value: Any) -> Decimal:
    # Floats are refused: YAML's 0.1 is already inexact by the time we see it.
    if isinstance(value, (bool, float)):
        raise ValueError('prices must be quoted decimal strings, e.g. "0.15"')
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"{value!r} is not a non-negative price")
    return price


Price = Annotated[Decimal, BeforeValidator(_exact_decimal)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pricing(_Strict):
    """USD per million tokens; `request` is USD per request, `image` USD per input image."""

    prompt: Price
    completion: Price
    input_cache_read: Price | None = None
    input_cache_write: Price | None = None
    request: Price = Decimal(0)
    image: Price | None = None


class ListPricing(_Strict):
    """The provider's own list price, shown beside ours; never used to bill."""

    prompt: Price | None = None
    completion: Price | None = None
    input_cache_read: Price | None = None
    input_cache_write: Price | None = None
    request: Price | None = None
    image: Price | None = None


class Timeouts(_Strict):
    """Seconds. `first_byte` bounds a stream's wait for its start and between its chunks.
    `whole` bounds a non-streamed answer, which arrives only once it is all written: a long
    answer from a reasoning model can take minutes without anything being wrong."""

    connect: float = Field(default=5.0, gt=0)
    first_byte: float = Field(default=120.0, gt=0)
    whole: float = Field(default=600.0, gt=0)


class Provider(_Strict):
    id: str = ""
    protocol: Protocol
    base_url: str
    api_key_env: str | None = None
    trains_on_prompts: bool = False
    # Azure OpenAI's `api-version` query parameter; other protocols ignore it.
    api_version: str | None = None
    timeouts: Timeouts = Timeouts()
    headers: dict[str, str] = {}
    # An OpenAI-compatible host that takes Anthropic-style `cache_control` on message parts
    # and tools (OpenRouter, some Claude hosts). Elsewhere it is removed: strict hosts refuse it.
    cache_control: bool = False


class Endpoint(_Strict):
    provider: str
    model: str
    pricing: Pricing
    list_pricing: ListPricing | None = None
    context_length: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    # What this endpoint takes, where it is less than its protocol and model carry (a host
    # without tool calling, say). None: the protocol's parameters, the model's modalities.
    supported_parameters: frozenset[str] | None = None
    input_modalities: frozenset[Modality] | None = None

    @field_validator("supported_parameters")
    @classmethod
    def _known_parameters(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        unknown = sorted((value or frozenset()) - PARAMETERS)
        if unknown:
            raise ValueError(f"unknown parameters {unknown}; known: {sorted(PARAMETERS)}")
        return value


# The front doors a model of each kind serves, as /v1/models lists them.
APIS: dict[str, tuple[str, ...]] = {
    "chat": ("chat", "messages", "responses"),
    "embedding": ("embeddings",),
}


class Model(_Strict):
    id: str = Field(min_length=1)
    name: str
    kind: ModelKind = "chat"
    # An embedding model's output size when the request names none.
    dimensions: int | None = Field(default=None, gt=0)
    aliases: list[str] = []
    description: str | None = None
    context_length: int = Field(gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    input_modalities: list[Modality] = ["text"]
    # Seconds a repeated request is answered from the prompt cache; 0 turns it off.
    cache_ttl: int = Field(default=3600, ge=0, le=30 * 24 * 3600)
    endpoints: list[Endpoint] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _embeddings_price_prompts_only(cls, data: Any) -> Any:
        """An embedding model writes no tokens: its endpoints need only a prompt price."""
        if not isinstance(data, dict) or data.get("kind") != "embedding":
            return data
        endpoints = data.get("endpoints")
        if not isinstance(endpoints, list):
            return data
        filled = []
        for endpoint in endpoints:
            pricing = endpoint.get("pricing") if isinstance(endpoint, dict) else None
            if isinstance(pricing, dict) and "completion" not in pricing:
                endpoint = {**endpoint, "pricing": {**pricing, "completion": "0"}}
            filled.append(endpoint)
        return {**data, "endpoints": filled}

    @model_validator(mode="after")
    def _dimensions_only_for_embeddings(self) -> Model:
        if self.dimensions is not None and self.kind != "embedding":
            raise ValueError("dimensions: only embedding models have an output size")
        return self

    @property
    def apis(self) -> tuple[str, ...]:
        return APIS[self.kind]


class Catalog(_Strict):
    providers: dict[str, Provider]
    models: list[Model]

    @model_validator(mode="before")
    @classmethod
    def _name_providers(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("providers"), dict):
            data = dict(data)
            data["providers"] = {
                pid: {**spec, "id": pid} if isinstance(spec, dict) else spec
                for pid, spec in data["providers"].items()
            }
        return data

    @model_validator(mode="after")
    def _check_references(self) -> Catalog:
        seen: dict[str, str] = {}
        for i, model in enumerate(self.models):
            names = [("id", model.id)]
            names += [(f"aliases[{k}]", alias) for k, alias in enumerate(model.aliases)]
            for field, name in names:
                if name in seen:
                    where = f"models[{i}] ({model.id}).{field}"
                    raise ValueError(f"{where}: {name!r} is already used by {seen[name]}")
                seen[name] = model.id
            for j, endpoint in enumerate(model.endpoints):
                if endpoint.provider not in self.providers:
                    raise ValueError(
                        f"models[{i}] ({model.id}).endpoints[{j}].provider: "
                        f"unknown provider {endpoint.provider!r}"
                    )
                protocol = self.providers[endpoint.provider].protocol
                if model.kind == "embedding" and protocol not in EMBEDDING_PROTOCOLS:
                    raise ValueError(
                        f"models[{i}] ({model.id}).endpoints[{j}].provider: "
                        f"{endpoint.provider!r} speaks {protocol}, which serves no embeddings "
                        f"(those that do: {', '.join(sorted(EMBEDDING_PROTOCOLS))})"
                    )
        return self

    def index(self) -> dict[str, Model]:
        """Every id and alias, mapped to its model."""
        names: dict[str, Model] = {}
        for model in self.models:
            names[model.id] = model
            for alias in model.aliases:
                names[alias] = model
        return names


def _describe(error: ValidationError, data: Any) -> str:
    lines = []
    for item in error.errors():
        loc = list(item["loc"])
        where = ".".join(str(part) for part in loc) or "(top level)"
        if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
            with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
                where = f"{where} (model {data['models'][loc[1]].get('id')!r})"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def load_catalog(path: Path | str) -> Catalog:
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except OSError as exc:
        raise CatalogError(f"catalog {path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog {path}: not valid YAML: {exc}") from None
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"catalog {path} is invalid:\n{_describe(exc, data)}") from None
