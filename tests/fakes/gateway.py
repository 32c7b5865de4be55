"""A real gateway for tests: the app from `create_app`, served by uvicorn on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Self

import openai
import uvicorn


class ServerThread:
    """Runs an ASGI app under uvicorn in a background thread, the way `onerouter dev` does."""

    def __init__(self, app: Any, name: str = "gateway", port: int = 0, **config: Any) -> None:
        self.app = app
        self.name = name
        self.port = port  # 0: any free one
        # uvicorn.Config overrides, and `grace`: seconds open requests get at stop().
        self._grace: float = config.pop("grace", 5.0)
        self._config = {"lifespan": "on", **config}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, access_log=False, **self._config)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=self._grace)
            if self._thread.is_alive():  # e.g. a stalled stream: don't wait for it
                self._server.force_exit = True
                self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# A catalog and the providers' keys in; a running gateway on that catalog out.
StartGateway = Callable[[dict[str, Any], dict[str, str]], ServerThread]


def client_of(gateway: ServerThread) -> openai.OpenAI:
    """The OpenAI SDK on `gateway`, as a new account with $10.00 of credit."""
    account = gateway.app.state.accounts.open_account(Decimal("10.00"))
    # No retries: the SDK's own retries would hide what the gateway answered.
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=account.key, max_retries=0)
