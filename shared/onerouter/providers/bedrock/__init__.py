"""The `bedrock` protocol: AWS Bedrock Runtime's Converse and ConverseStream APIs.

`request` and `response` translate whole requests and answers, `stream` decodes the binary
event stream and translates its events, `adapter` does the I/O and the auth.
"""

from __future__ import annotations

from .adapter import BedrockAdapter, sign
from .request import to_provider_request
from .response import from_provider_response
from .stream import EventDecoder, StreamTranslator

__all__ = [
    "BedrockAdapter",
    "EventDecoder",
    "StreamTranslator",
    "from_provider_response",
    "sign",
    "to_provider_request",
]
