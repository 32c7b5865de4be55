"""The `anthropic` protocol: Anthropic's Messages API (`POST /v1/messages`).

`request` and `response` translate whole requests and answers, `stream` translates the event
stream, `adapter` does the I/O.
"""

from __future__ import annotations

from .adapter import AnthropicAdapter
from .request import to_provider_request
from .response import from_provider_response
from .stream import StreamTranslator

__all__ = ["AnthropicAdapter", "StreamTranslator", "from_provider_response", "to_provider_request"]
