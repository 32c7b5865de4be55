"""The fake Anthropic provider in a process of its own: `python -m bench.anthropic_fake_server`.

Like `bench.fake_server`, for `FakeAnthropicProvider` (the Messages API, `POST /v1/messages`):
serves its app (handlers and replies unchanged) with uvicorn in this process's main thread on
loopback PORT (0 = any free port), prints `{"port": N, "base_url": ..., "api_key": ...}` on
stdout, and serves until SIGTERM/SIGINT or until its stdin closes.
"""

from __future__ import annotations

import sys

from tests.fakes.anthropic_provider import FakeAnthropicProvider

from bench.fake_server import serve

if __name__ == "__main__":
    sys.exit(serve(FakeAnthropicProvider(), sys.argv[1:]))
