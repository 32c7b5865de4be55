"""Embedded AWS: a moto server on loopback, or the endpoint AWS_ENDPOINT_URL already names."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from decimal import Decimal
from types import TracebackType
from typing import Any

from .provision import provision
from .template import find_template, load_template


def _patch_moto_dynamodb() -> None:
    """Three fixes to the embedded moto server's DynamoDB (it runs in this process; an external
    one, AWS_ENDPOINT_URL, is left as it is), so that the books stay exact locally:

    - moto adds numbers as int unless they hold a ".", and stores a sum as `str(Decimal)`
      writes it: 0 + 0.0000001 becomes "1E-7", which its next ADD cannot parse (a 500, for
      ever). Here numbers add as DynamoDB adds them: exactly, to 38 digits.
    - moto rolls a cancelled transaction back by restoring whole tables, which undoes whatever
      another thread wrote meanwhile (the usage consumer runs beside the gateway). Here
      DynamoDB requests run one at a time, as moto's single-threaded model expects.
    - moto ignores TransactWriteItems' ClientRequestToken. botocore sends one and resends it when
      an answer is late (its read timeout), and DynamoDB answers a repeat within ten minutes with
      the first call's success. moto applied it again, and its conditions then cancelled it: a
      write that happened reported as failed. Here a token seen succeed answers the same again.
    """
    from decimal import Context

    from moto.dynamodb.models.dynamo_type import DDBType, DynamoType
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "onerouter_patched", False):
        return
    exact = Context(prec=38)
    original_add, original_sub = DynamoType.__add__, DynamoType.__sub__
    original_call = DynamoHandler.call_action
    original_transact = DynamoHandler.transact_write_items
    lock = threading.Lock()
    succeeded: OrderedDict[str, Any] = OrderedDict()  # client token -> the first answer

    def add(self: DynamoType, other: DynamoType) -> DynamoType:
        if self.type != other.type or not self.is_number():
            return original_add(self, other)
        total = exact.add(Decimal(self.value), Decimal(other.value))
        return DynamoType({DDBType.NUMBER: format(total, "f")})

    def sub(self: DynamoType, other: DynamoType) -> DynamoType:
        if self.type != other.type or not self.is_number():
            return original_sub(self, other)
        difference = exact.subtract(Decimal(self.value), Decimal(other.value))
        return DynamoType({DDBType.NUMBER: format(difference, "f")})

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original_call(self)

    def transact_write_items(self: DynamoHandler) -> Any:
        token = self.body.get("ClientRequestToken")
        if token and token in succeeded:
            return succeeded[token]
        answer = original_transact(self)
        if token:
            succeeded[token] = answer
            while len(succeeded) > 10_000:
                succeeded.popitem(last=False)
        return answer

    call_action.onerouter_patched = True  # type: ignore[attr-defined]
    DynamoType.__add__ = add  # type: ignore[method-assign]
    DynamoType.__sub__ = sub  # type: ignore[method-assign]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


def local_credentials() -> None:
    """Fake credentials and a region, only where none are configured: moto accepts any."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "onerouter-local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "onerouter-local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


class LocalAWS:
    """Starts moto server (unless an endpoint is configured), then creates the template's
    tables and queues there and points this process's environment at them."""

    def __init__(self, prefix: str = "onerouter-local") -> None:
        self.prefix = prefix
        self._server: object | None = None
        self.endpoint: str | None = None
        self.environment: dict[str, str] = {}

    def __enter__(self) -> LocalAWS:
        local_credentials()
        self.endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if not self.endpoint:
            from moto.server import ThreadedMotoServer

            _patch_moto_dynamodb()
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
