"""Embedded AWS: a moto server on loopback, or the endpoint AWS_ENDPOINT_URL already names."""

from __future__ import annotations

import logging
import os
from types import TracebackType

from .provision import provision
from .template import find_template, load_template


class LocalAWS:
    """Starts moto server (unless an endpoint is configured), then creates the template's
    tables and queues there and points this process's environment at them."""

    def __init__(self, prefix: str = "onerouter-local") -> None:
        self.prefix = prefix
        self._server: object | None = None
        self.endpoint: str | None = None
        self.environment: dict[str, str] = {}

    def __enter__(self) -> LocalAWS:
        # Fake credentials only where none are configured: moto accepts any.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "onerouter-local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "onerouter-local")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        self.endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if not self.endpoint:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            self._server = server
            self.endpoint = f"http://{host}:{port}"
            os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        template = load_template(find_template())
        self.environment = provision(template, self.prefix)
        os.environ.update(self.environment)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            os.environ.pop("AWS_ENDPOINT_URL", None)
            self._server = None
