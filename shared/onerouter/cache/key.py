"""The cache key of a request: where its answer is stored, and the key that seals it.

Both come from the account id, the resolved model id and a canonical form of everything in the
request that can change the answer, by HKDF-SHA256 (RFC 5869) with two labels. The lookup id
names the entry and the secret encrypts it; HMAC being a PRF, neither tells anything about the
other, and neither can be computed without the whole request. One account's key never equals
another's, so a cache never answers across accounts.

What counts is decided conservatively: a field missing a cache hit costs a provider call, a field
wrongly left out serves a wrong answer. So every body field counts, unknown ones too (they pass
through to providers), except those known to change only delivery, routing or bookkeeping
(`IGNORED`). Normalization only merges spellings that mean the same to every provider:

- a top-level field set to null is the same as absent; so are `n: 1`, `stop: []`,
  `response_format: {"type": "text"}`, chat `logprobs: false`, `echo: false` and a `reasoning`
  object holding only defaults;
- `stop: "x"` is `["x"]`;
- `max_completion_tokens` is `max_tokens`, and `reasoning_effort: e` is `reasoning.effort: e`,
  unless a request sets both spellings to different values, when both count as sent;
- typed numbers are compared as validated (`temperature: 1` is `1.0`);
- null keys of a message or of a tool call are the same as absent;
- key order does not count at the top level or inside messages, `tool_choice`, `logit_bias` and
  `reasoning`; it does count elsewhere (tool and response schemas, unknown fields), because
  structured outputs follow the schema's property order.

Timing (this machine, Python 3.11, best of 5 runs, chat request with 9 or 100 messages and a
tool): a 2.5 KB request takes ~40 µs, a 100 KB request ~180 µs, of which SHA-256 over the
canonical bytes is ~70 µs and orjson ~15 µs.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..requests import AnyRequest, ChatRequest, EmbeddingGatewayRequest, GatewayRequest

# Raise when a normalization rule changes, so old entries are simply never found again.
VERSION = b"onerouter/prompt-cache/v1"
_LOOKUP = VERSION + b"/lookup"
_SEAL = VERSION + b"/seal"
_SHA256 = "sha256"

# Body fields that cannot change the answer.
IGNORED = frozenset(
    {
        "model",  # the resolved catalog id is passed in; aliases of one model share entries
        "stream",  # how the answer is delivered, not what it is
        "stream_options",
        "usage",  # whether usage and cost are shown
        "user",  # who asked, for the provider's abuse monitoring
        "safety_identifier",  # OpenAI's newer name for `user`
        "provider",  # routing preferences
        "models",
        "fallback_models",
        "route",
        "fallback_rules",  # which failures move on to the next endpoint
        "byok_conf",  # whose credential calls the provider (and such requests skip the cache)
        "metadata",  # OpenAI's tags for stored completions
        "store",  # whether OpenAI keeps the completion for its dashboard
        "prompt_cache_key",  # a hint for the provider's own prefix cache
    }
)
# Fields whose key order carries no meaning; any other object is kept exactly as sent.
_UNORDERED = frozenset({"messages", "tool_choice", "logit_bias", "reasoning"})
# Fields pydantic has validated into canonical numbers; the rest come from the raw body.
_TYPED = frozenset(
    {
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "n",
        "logit_bias",
        "max_tokens",
        "max_completion_tokens",
        "top_logprobs",
    }
)
# Values that ask for nothing: the same as leaving the field out.
_NO_OP: dict[str, Any] = {
    "n": 1,
    "stop": [],
    "echo": False,
    "response_format": {"type": "text"},
}


@dataclass(frozen=True, slots=True)
class CacheKey:
    lookup: str  # hex; the id the entry is stored under
    secret: bytes = field(repr=False)  # 32 bytes; the AES-256-GCM key of the entry


def cache_key(
    account_id: str, model_id: str, request: AnyRequest, *, pepper: bytes = b""
) -> CacheKey:
    """The key of `request` for `account_id`, on `model_id` (the catalog id, not an alias).

    `pepper`, a server-side secret, becomes the HKDF salt. Without one, someone holding the
    table, the account id and a guess of a whole request can check the guess.
    """
    # HKDF: extract once over the request, expand once per label (one 32-byte block each).
    prk = hmac.digest(pepper or VERSION, canonical(account_id, model_id, request), _SHA256)
    return CacheKey(
        lookup=hmac.digest(prk, _LOOKUP + b"\x01", _SHA256).hex(),
        secret=hmac.digest(prk, _SEAL + b"\x01", _SHA256),
    )


def canonical(account_id: str, model_id: str, request: AnyRequest) -> bytes:
    """The bytes both keys derive from: one account's, one model's, one normalized request."""
    document = {
        "account": account_id,
        "model": model_id,
        "operation": request.operation,
        "betas": sorted(set(request.anthropic_beta)),
        "body": _normalized(request),
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def _normalized(request: AnyRequest) -> dict[str, Any]:
    if isinstance(request, EmbeddingGatewayRequest):
        return _embedding(request)
    params = request.params
    body = {k: v for k, v in request.raw.items() if k not in IGNORED and v is not None}
    for name in _TYPED.intersection(body):
        body[name] = getattr(params, name, body[name])
    if isinstance(body.get("stop"), str):
        body["stop"] = [body["stop"]]
    if isinstance(params, ChatRequest):
        _one_spelling(body, "max_tokens", "max_completion_tokens")
        if body.get("logprobs") is False:
            del body["logprobs"]
        if "messages" in body:
            body["messages"] = [_message(m) for m in body["messages"]]
    _reasoning(body, request)
    for name, nothing in _NO_OP.items():
        if name in body and body[name] == nothing:
            del body[name]
    for name, value in body.items():
        if name not in _UNORDERED and isinstance(value, (dict, list)):
            body[name] = orjson.Fragment(orjson.dumps(value))
    return body


def _one_spelling(body: dict[str, Any], name: str, alias: str) -> None:
    """Keeps `alias` under `name`, unless a request sets both to different values."""
    if alias not in body:
        return
    if name in body and body[name] != body[alias]:
        return
    body[name] = body.pop(alias)


def _embedding(request: EmbeddingGatewayRequest) -> dict[str, Any]:
    """An embeddings request: its inputs, output size and encoding (absent is "float"), and
    any field we do not know; as for chat, `user`, routing and `usage` do not count."""
    body = {k: v for k, v in request.raw.items() if k not in IGNORED and v is not None}
    body["encoding_format"] = request.params.encoding_format
    for name, value in body.items():
        if isinstance(value, (dict, list)):
            body[name] = orjson.Fragment(orjson.dumps(value))
    return body


def _reasoning(body: dict[str, Any], request: GatewayRequest) -> None:
    reasoning = request.params.reasoning
    settings = reasoning.model_dump(exclude_defaults=True) if reasoning else {}
    effort = body.pop("reasoning_effort", None)
    body.pop("reasoning", None)
    if effort is not None and settings.get("effort", effort) != effort:
        body["reasoning_effort"] = effort
    elif effort is not None:
        settings["effort"] = effort
    if settings:
        body["reasoning"] = settings


def _message(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    clean = {k: v for k, v in message.items() if v is not None}
    calls = clean.get("tool_calls")
    if isinstance(calls, list):
        clean["tool_calls"] = [
            {k: v for k, v in call.items() if v is not None} if isinstance(call, dict) else call
            for call in calls
        ]
    return clean
