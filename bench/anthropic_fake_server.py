"""The fake Anthropic provider in a process of its own: `python -m bench.anthropic_fake_server`.

Like `bench.fake_server`, for `FakeAnthropicProvider` (the Messages API, `POST /v1/messages`):
serves its app (handlers and replies unchanged) with uvicorn in this process's main thread on
loopback PORT (0 = any free port), prints `{"port": N, "base_url": ..., "api_key": ...}` on
stdout, and serves until SIGTERM/SIGINT or until its stdin closes. The socket comes from
`tcp_listener`, so accepted connections get TCP_NODELAY.
"""

from __future__ import annotations

import sys
import threading

import uvicorn
from tests.fakes.anthropic_provider import FakeAnthropicProvider

from bench._child import announce, event_loop, exit_with_parent, tcp_listener


def main(argv: list[str]) -> int:
    exit_with_parent()
    fake = FakeAnthropicProvider()
    sock = tcp_listener(int(argv[0]) if argv else 0)
    # The fake normally runs in its own ServerThread; here only its app and URL are used
    # (base_url is derived from the thread's port), and uvicorn serves in the main thread.
    server_thread = fake._server
    server_thread.port = sock.getsockname()[1]
    loop = event_loop()
    config = uvicorn.Config(
        server_thread.app,
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
    announce(port=server_thread.port, base_url=fake.base_url, api_key=fake.api_key, loop=loop)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
