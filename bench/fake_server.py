"""The fake OpenAI provider in a process of its own: `python -m bench.fake_server [PORT]`.

Serves `FakeOpenAIProvider`'s app (its handlers and replies, unchanged) with uvicorn in this
process's main thread on loopback PORT (0 = any free port), prints
`{"port": N, "base_url": ..., "api_key": ...}` on stdout, and serves until SIGTERM/SIGINT or
until its stdin closes. The socket is our own (see `tcp_listener`): the fake's `start()` binds
one whose connections keep Nagle on under asyncio, which adds ~40 ms stalls to responses.
`serve` does the same for any other fake provider (see `bench.anthropic_fake_server`).
"""

from __future__ import annotations

import sys
import threading

import uvicorn
from tests.fakes.base import FakeProvider
from tests.fakes.openai_provider import FakeOpenAIProvider

from bench._child import announce, event_loop, exit_with_parent, tcp_listener


def serve(fake: FakeProvider, argv: list[str]) -> int:
    exit_with_parent()
    sock = tcp_listener(int(argv[0]) if argv else 0)
    # The fake's own server thread stays unstarted: only its app and URL are used here.
    fake.port = sock.getsockname()[1]
    loop = event_loop()
    config = uvicorn.Config(
        fake.app,
        loop=loop,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)

    def forget() -> None:
        # The fake records every request; forget them regularly so memory stays flat.
        while not server.should_exit:
            threading.Event().wait(2.0)
            fake.reset()

    threading.Thread(target=forget, name="fake-reset", daemon=True).start()
    announce(port=fake.port, base_url=fake.base_url, api_key=fake.api_key, loop=loop)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(serve(FakeOpenAIProvider(), sys.argv[1:]))
