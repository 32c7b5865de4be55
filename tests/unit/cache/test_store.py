"""The prompt cache's table over DynamoDB's JSON protocol: signed GetItem and PutItem, expiry
checked on read, and every failure a miss, never an exception. The DynamoDB here is a fake on a
loopback port that checks each request's target and SigV4 signature as DynamoDB would."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import anyio
import orjson
import pytest
from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onerouter.aws_signing import sign_root_post
from onerouter.cache.sealed import MAX_SEALED
from onerouter.cache.store import CacheStore, dynamodb_endpoint
from tests.fakes.gateway import ServerThread

REGION = "eu-west-1"
TABLE = "cache-test"
LOOKUP = "ab" * 32
NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_REGION", raising=False)


class FakeDynamoDB:
    """GetItem and PutItem on one table; `statuses` answers the next calls with errors."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.statuses: list[tuple[int, str]] = []

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        self._check_signature(request, body)
        operation = request.headers["x-amz-target"].removeprefix("DynamoDB_20120810.")
        payload = orjson.loads(body)
        self.calls.append(operation)
        assert payload["TableName"] == TABLE
        if self.statuses:
            status, kind = self.statuses.pop(0)
            error = {"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": "no"}
            return self._answer(error, status)
        if operation == "GetItem":
            item = self.items.get(payload["Key"]["lookup"]["S"])
            return self._answer({"Item": item} if item else {})
        assert operation == "PutItem"
        self.items[payload["Item"]["lookup"]["S"]] = payload["Item"]
        return self._answer({})

    @staticmethod
    def _answer(document: dict[str, Any], status: int = 200) -> Response:
        return Response(orjson.dumps(document), status, media_type="application/x-amz-json-1.0")

    @staticmethod
    def _check_signature(request: Request, body: bytes) -> None:
        headers = request.headers
        assert request.url.path == "/"
        assert headers["content-type"] == "application/x-amz-json-1.0"
        assert headers["x-amz-target"].startswith("DynamoDB_20120810.")
        when = dt.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        expected = sign_root_post(
            f"http://{headers['host']}/",
            {"content-type": headers["content-type"], "x-amz-target": headers["x-amz-target"]},
            body,
            Credentials("AKIDEXAMPLE", "secret"),
            "dynamodb",
            REGION,
            now=when,
        )
        assert f"/{REGION}/dynamodb/aws4_request" in headers["authorization"]
        assert headers["authorization"] == expected["Authorization"]


@pytest.fixture
def fake() -> FakeDynamoDB:
    return FakeDynamoDB()


@pytest.fixture
def server(fake: FakeDynamoDB) -> Iterator[ServerThread]:
    app = Starlette(routes=[Route("/", fake.endpoint, methods=["POST"])])
    with ServerThread(app, name="dynamodb") as running:
        yield running


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def run(endpoint: str, steps: Any, clock: Clock | None = None) -> Any:
    """Runs `steps(store)` on a store over `endpoint` and closes the store."""

    async def go() -> Any:
        store = CacheStore(TABLE, endpoint_url=endpoint, region=REGION, clock=clock or Clock())
        try:
            return await steps(store)
        finally:
            await store.aclose()

    return anyio.run(go)


def test_a_blob_put_comes_back_exact(fake: FakeDynamoDB, server: ServerThread) -> None:
    blob = bytes(range(256)) * 40

    async def steps(store: CacheStore) -> bytes | None:
        await store.put(LOOKUP, blob, 3600)
        return await store.get(LOOKUP)

    assert run(server.url, steps) == blob
    assert fake.calls == ["PutItem", "GetItem"]
    item = fake.items[LOOKUP]
    assert item == {
        "lookup": {"S": LOOKUP},
        "blob": {"B": base64.b64encode(blob).decode()},
        "expires_at": {"N": str(int(NOW) + 3600)},
    }


def test_an_absent_entry_is_none(fake: FakeDynamoDB, server: ServerThread) -> None:
    async def steps(store: CacheStore) -> bytes | None:
        return await store.get(LOOKUP)

    assert run(server.url, steps) is None
    assert fake.calls == ["GetItem"]


def test_an_entry_past_its_expiry_is_none_before_the_ttl_deletes_it(
    fake: FakeDynamoDB, server: ServerThread
) -> None:
    clock = Clock()

    async def steps(store: CacheStore) -> list[bytes | None]:
        await store.put(LOOKUP, b"answer", 60)
        clock.now += 59
        fresh = await store.get(LOOKUP)
        clock.now += 1
        return [fresh, await store.get(LOOKUP)]

    assert run(server.url, steps, clock) == [b"answer", None]
    assert LOOKUP in fake.items  # still stored: only the read decided


def test_server_errors_and_throttling_are_retried(fake: FakeDynamoDB, server: ServerThread) -> None:
    fake.items[LOOKUP] = {
        "lookup": {"S": LOOKUP},
        "blob": {"B": base64.b64encode(b"x").decode()},
        "expires_at": {"N": str(int(NOW) + 10)},
    }
    fake.statuses = [(500, "InternalServerError"), (400, "ThrottlingException")]

    async def steps(store: CacheStore) -> bytes | None:
        return await store.get(LOOKUP)

    assert run(server.url, steps) == b"x"
    assert fake.calls == ["GetItem"] * 3


def test_a_server_that_keeps_failing_is_a_miss_logged_by_error_name(
    fake: FakeDynamoDB, server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    fake.statuses = [(500, "InternalServerError")] * 3 + [(400, "ResourceNotFoundException")]

    async def steps(store: CacheStore) -> list[bytes | None]:
        return [await store.get(LOOKUP), await store.get(LOOKUP)]

    with caplog.at_level(logging.WARNING, logger="onerouter.cache"):
        assert run(server.url, steps) == [None, None]
    assert fake.calls == ["GetItem"] * 4  # three tries of the 500, one of the 400
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "prompt cache GetItem failed: HTTP 500 InternalServerError",
        "prompt cache GetItem failed: HTTP 400 ResourceNotFoundException",
    ]


def test_a_failed_put_is_dropped(fake: FakeDynamoDB, server: ServerThread) -> None:
    fake.statuses = [(500, "InternalServerError")] * 3

    async def steps(store: CacheStore) -> None:
        await store.put(LOOKUP, b"answer", 60)

    run(server.url, steps)
    assert fake.calls == ["PutItem"] * 3
    assert fake.items == {}


def test_an_oversized_blob_is_not_stored(fake: FakeDynamoDB, server: ServerThread) -> None:
    async def steps(store: CacheStore) -> None:
        await store.put(LOOKUP, b"x" * (MAX_SEALED + 1), 60)
        await store.put("cd" * 32, b"x" * MAX_SEALED, 60)

    run(server.url, steps)
    assert fake.calls == ["PutItem"]
    assert list(fake.items) == ["cd" * 32]


def test_a_malformed_item_is_a_miss(fake: FakeDynamoDB, server: ServerThread) -> None:
    fake.items[LOOKUP] = {"lookup": {"S": LOOKUP}, "blob": {"S": "not binary"}}

    async def steps(store: CacheStore) -> bytes | None:
        return await store.get(LOOKUP)

    assert run(server.url, steps) is None


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_endpoint_is_a_quick_miss(caplog: pytest.LogCaptureFixture) -> None:
    async def steps(store: CacheStore) -> bytes | None:
        await store.put(LOOKUP, b"answer", 60)  # no exception either
        return await store.get(LOOKUP)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="onerouter.cache"):
        assert run(f"http://127.0.0.1:{closed_port()}", steps) is None
    assert time.monotonic() - started < 1.5
    text = caplog.text
    assert "ConnectionFailed" in text
    assert LOOKUP not in text and "answer" not in text


def test_a_silent_endpoint_is_a_miss_within_the_budget(caplog: pytest.LogCaptureFixture) -> None:
    # Accepts connections (the kernel's backlog) and never answers.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"

        async def steps(store: CacheStore) -> bytes | None:
            return await store.get(LOOKUP)

        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="onerouter.cache"):
            assert run(url, steps) is None
        elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 1.0
    assert [r.getMessage() for r in caplog.records] == ["prompt cache GetItem failed: TimeoutError"]


def test_the_endpoint_comes_from_the_argument_then_the_environment_then_the_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    assert dynamodb_endpoint("http://h:1", "ap-south-1") == ("http://h:1", "ap-south-1")
    assert dynamodb_endpoint(None, None) == ("http://127.0.0.1:8000", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    assert dynamodb_endpoint(None, None) == ("http://127.0.0.1:4566", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert dynamodb_endpoint(None, None) == (f"https://dynamodb.{REGION}.amazonaws.com/", REGION)
    assert dynamodb_endpoint(None, "us-west-2")[0] == "https://dynamodb.us-west-2.amazonaws.com/"
    monkeypatch.setenv("AWS_REGION", "sa-east-1")
    assert dynamodb_endpoint("https://dynamodb.eu-north-1.amazonaws.com", None)[1] == "eu-north-1"
