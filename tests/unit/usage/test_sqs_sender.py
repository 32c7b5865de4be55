"""Sending to SQS: the JSON protocol, signed; messages sent while another send is in flight go
out together; what SQS does not take is retried, and what it never takes is an error. The SQS
here is a fake on a loopback port, answering as SQS does (kept-alive, or closing)."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onerouter.usage.producer import SqsUsageSink
from onerouter.usage.sqs import SendFailed, SqsSender
from tests.fakes.gateway import ServerThread
from tests.usage_events import usage_event

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_REGION", raising=False)


class FakeSqs:
    """Answers SendMessage and SendMessageBatch; `refuse` fails entries by message body."""

    def __init__(self, statuses: list[int] | None = None, close: bool = False) -> None:
        self.close = close
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.statuses = statuses or []
        self.refuse: dict[str, bool] = {}  # body -> sender's fault?
        self.stored: list[str] = []

    async def endpoint(self, request: Request) -> Response:
        content = await request.body()
        answer = self._answer(
            httpx.Request("POST", str(request.url), headers=request.headers.raw, content=content)
        )
        headers = {"connection": "close"} if self.close else {}
        return Response(answer.content, answer.status_code, headers, "application/x-amz-json-1.0")

    def _answer(self, request: httpx.Request) -> httpx.Response:
        target = request.headers["x-amz-target"].removeprefix("AmazonSQS.")
        body = orjson.loads(request.content)
        self.calls.append((target, body))
        assert request.url.path == "/"
        assert body["QueueUrl"].endswith("/123456789012/usage")
        assert request.headers["content-type"] == "application/x-amz-json-1.0"
        assert "/eu-west-1/sqs/aws4_request" in request.headers["authorization"]
        if self.statuses:
            status = self.statuses.pop(0)
            if status != 200:
                return httpx.Response(status, json={"__type": "com.amazon.sqs#InternalError"})
        if target == "SendMessage":
            self.stored.append(body["MessageBody"])
            return httpx.Response(200, json={"MessageId": "m"})
        ok, failed = [], []
        for entry in body["Entries"]:
            if entry["MessageBody"] in self.refuse:
                sender = self.refuse.pop(entry["MessageBody"])
                failed.append({"Id": entry["Id"], "SenderFault": sender, "Code": "X"})
            else:
                self.stored.append(entry["MessageBody"])
                ok.append({"Id": entry["Id"], "MessageId": "m"})
        return httpx.Response(200, json={"Successful": ok, "Failed": failed})


def queue_of(server: ServerThread) -> str:
    return f"{server.url}/123456789012/usage"


def run_sends(fake: FakeSqs, bodies: list[str]) -> list[BaseException | None]:
    outcomes: list[BaseException | None] = [None] * len(bodies)
    app = Starlette(routes=[Route("/", fake.endpoint, methods=["POST"])])

    async def go(queue: str) -> None:
        sender = SqsSender(queue)

        async def one(i: int) -> None:
            try:
                await sender.send(bodies[i])
            except SendFailed as exc:
                outcomes[i] = exc

        async with anyio.create_task_group() as group:
            for i in range(len(bodies)):
                group.start_soon(one, i)
        await sender.aclose()

    with ServerThread(app, name="sqs") as server:
        anyio.run(go, queue_of(server))
    return outcomes


@pytest.mark.parametrize("close", [False, True], ids=["kept-alive", "closing"])
def test_one_message_is_one_signed_send_message(close: bool) -> None:
    fake = FakeSqs(close=close)
    assert run_sends(fake, ["a"]) == [None]
    assert [target for target, _ in fake.calls] == ["SendMessage"]
    assert fake.stored == ["a"]


def test_messages_sent_meanwhile_go_out_in_batches_of_ten() -> None:
    fake = FakeSqs()
    bodies = [f"m{i}" for i in range(23)]
    assert run_sends(fake, bodies) == [None] * 23
    assert sorted(fake.stored) == sorted(bodies)
    sizes = [len(body["Entries"]) for _, body in fake.calls]
    assert sizes == [10, 10, 3]


def test_entries_sqs_failed_are_retried_and_refused_ones_fail_alone() -> None:
    fake = FakeSqs()
    fake.refuse = {"m3": False, "m4": True}  # m3: SQS's fault, retried; m4: ours, final
    outcomes = run_sends(fake, [f"m{i}" for i in range(6)])
    assert sorted(fake.stored) == ["m0", "m1", "m2", "m3", "m5"]
    assert isinstance(outcomes[4], SendFailed)
    assert [o for i, o in enumerate(outcomes) if i != 4] == [None] * 5


def test_server_errors_are_retried_client_errors_are_not() -> None:
    fake = FakeSqs(statuses=[500, 503, 200])
    assert run_sends(fake, ["a"]) == [None]
    assert len(fake.calls) == 3

    fake = FakeSqs(statuses=[400])
    (outcome,) = run_sends(fake, ["a"])
    assert isinstance(outcome, SendFailed) and "HTTP 400 InternalError" in str(outcome)
    assert len(fake.calls) == 1


def test_an_event_sqs_never_took_is_logged_whole_for_replay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeSqs(statuses=[500, 500, 500])
    event = usage_event("acct_1")
    app = Starlette(routes=[Route("/", fake.endpoint, methods=["POST"])])

    async def go(queue: str) -> None:
        sink = SqsUsageSink(queue)
        await sink.send(event)  # never raises: the response must still go out
        await sink.aclose()

    with caplog.at_level(logging.ERROR, logger="onerouter.usage"), ServerThread(app) as server:
        anyio.run(go, queue_of(server))
    assert any(event.to_message() in record.getMessage() for record in caplog.records)


def test_a_kept_connection_the_server_closed_meanwhile_is_replaced() -> None:
    fake = FakeSqs()
    app = Starlette(routes=[Route("/", fake.endpoint, methods=["POST"])])

    async def go(queue: str) -> None:
        sender = SqsSender(queue)
        await sender.send("first")
        await anyio.sleep(0.5)  # past the server's keep-alive: it closes the idle connection
        await sender.send("second")
        await sender.aclose()

    with ServerThread(app, name="sqs", timeout_keep_alive=0.1) as server:
        anyio.run(go, queue_of(server))
    assert fake.stored == ["first", "second"]
