"""Provider wire protocols: translation to and from each provider's API, and the I/O to call it.

Each protocol is one module with an adapter class; routing skips endpoints whose protocol has
none yet (and a model left with none is answered 503).
"""

from __future__ import annotations

import importlib

from .base import Adapter, Target, UpstreamError
from .http import Upstream

# protocol -> (module in this package, adapter class)
_ADAPTERS: dict[str, tuple[str, str]] = {
    "openai": ("openai", "OpenAIAdapter"),
    "azure": ("azure", "AzureAdapter"),
    "anthropic": ("anthropic", "AnthropicAdapter"),
    "gemini": ("gemini", "GeminiAdapter"),
    "bedrock": ("bedrock", "BedrockAdapter"),
}

SUPPORTED_PROTOCOLS = frozenset(_ADAPTERS)


def adapter_for(protocol: str, upstream: Upstream) -> Adapter | None:
    entry = _ADAPTERS.get(protocol)
    if entry is None:
        return None
    module = importlib.import_module(f".{entry[0]}", __name__)
    adapter: Adapter = getattr(module, entry[1])(upstream)
    return adapter


__all__ = ["SUPPORTED_PROTOCOLS", "Adapter", "Target", "Upstream", "UpstreamError", "adapter_for"]
