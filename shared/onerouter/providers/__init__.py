"""Provider wire protocols: translation to and from each provider's API, and the I/O to call it.

`adapter_for(protocol)` answers None for protocols whose adapter is not built yet; routing
skips those endpoints (and a model left with none is answered 503).
"""

from __future__ import annotations

from .base import Adapter, Target, UpstreamError
from .http import Upstream


def adapter_for(protocol: str, upstream: Upstream) -> Adapter | None:
    if protocol == "openai":
        from .openai import OpenAIAdapter

        return OpenAIAdapter(upstream)
    return None


SUPPORTED_PROTOCOLS = frozenset({"openai"})

__all__ = ["SUPPORTED_PROTOCOLS", "Adapter", "Target", "Upstream", "UpstreamError", "adapter_for"]
