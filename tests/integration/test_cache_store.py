"""The prompt cache's store on the template's own table, provisioned on moto: what it writes
DynamoDB reads back, and the table expires entries through its TTL."""

from __future__ import annotations

import secrets
import socket
import time
from typing import Any

import anyio
import boto3
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onerouter.cache.sealed import MAX_SEALED
from onerouter.cache.store import CacheStore
from onerouter.dev.aws import LocalAWS
from onerouter.settings import Settings
from tests.fakes.gateway import ServerThread


@pytest.fixture(scope="module")
def table(aws: LocalAWS) -> str:
    name = Settings.from_env().tables.cache
    assert name == aws.environment["CACHE_TABLE"] == "onerouter-test-CacheTable"
    return name


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def run(table: str, steps: Any, clock: Clock | None = None, endpoint: str | None = None) -> Any:
    async def go() -> Any:
        store = CacheStore(table, endpoint_url=endpoint, clock=clock or Clock())
        try:
            return await steps(store)
        finally:
            await store.aclose()

    return anyio.run(go)


def lookup() -> str:
    return secrets.token_hex(32)


def test_a_blob_put_comes_back_exact(table: str) -> None:
    key, blob = lookup(), secrets.token_bytes(50_000) + bytes(range(256))

    async def steps(store: CacheStore) -> bytes | None:
        await store.put(key, blob, 3600)
        return await store.get(key)

    assert run(table, steps) == blob
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"lookup": {"S": key}})["Item"]
    assert item["blob"]["B"] == blob
    assert set(item) == {"lookup", "blob", "expires_at"}


def test_an_absent_entry_is_none(table: str) -> None:
    async def steps(store: CacheStore) -> bytes | None:
        return await store.get(lookup())

    assert run(table, steps) is None


def test_an_expired_entry_is_none(table: str) -> None:
    key, clock = lookup(), Clock()

    async def steps(store: CacheStore) -> list[bytes | None]:
        await store.put(key, b"answer", 30)
        fresh = await store.get(key)
        clock.now += 31
        return [fresh, await store.get(key)]

    assert run(table, steps, clock) == [b"answer", None]


def test_an_oversized_blob_is_not_stored(table: str) -> None:
    key = lookup()

    async def steps(store: CacheStore) -> bytes | None:
        await store.put(key, b"x" * (MAX_SEALED + 1), 60)
        return await store.get(key)

    assert run(table, steps) is None
    assert "Item" not in boto3.client("dynamodb").get_item(
        TableName=table, Key={"lookup": {"S": key}}
    )


def test_a_missing_table_is_a_miss(aws: LocalAWS) -> None:
    async def steps(store: CacheStore) -> bytes | None:
        await store.put(lookup(), b"answer", 60)
        return await store.get(lookup())

    assert run("onerouter-test-no-such-table", steps) is None


def test_an_unreachable_endpoint_is_a_quick_miss(table: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def steps(store: CacheStore) -> bytes | None:
        await store.put(lookup(), b"answer", 60)
        return await store.get(lookup())

    started = time.monotonic()
    assert run(table, steps, endpoint=f"http://127.0.0.1:{port}") is None
    assert time.monotonic() - started < 1.5


def test_a_server_error_is_a_miss(table: str) -> None:
    async def broken(request: Request) -> Response:
        await request.body()
        return Response(b'{"__type":"InternalServerError"}', 500)

    app = Starlette(routes=[Route("/", broken, methods=["POST"])])

    async def steps(store: CacheStore) -> bytes | None:
        return await store.get(lookup())

    with ServerThread(app, name="broken-dynamodb") as server:
        assert run(table, steps, endpoint=server.url) is None


def test_the_table_expires_entries_through_the_ttl(table: str) -> None:
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=table)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
