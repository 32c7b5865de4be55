"""Sending to SQS: the JSON protocol, signed; messages sent while another send is in flight go
out together; what SQS does not take is retried, and what it never takes is an error."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx
import orjson
import pytest

from onerouter.usage.producer import SqsUsageSink
from onerouter.usage.sqs import SendFailed, SqsSender
from tests.fakes.mock_network import HandlerBackend
from tests.usage_events import usage_event

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/usage"


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class FakeSqs:
    """Answers SendMessage and SendMessageBatch; `refuse` fails entries by message body."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.statuses = statuses or []
        self.refuse: dict[str, bool] = {}  # body -> sender's fault?
        self.stored: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self._answer(request)
        response.headers["connection"] = "close"  # the mock network answers once per connection
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        target = request.headers["x-amz-target"].removeprefix("AmazonSQS.")
        body = orjson.loads(request.content)
        self.calls.append((target, body))
        assert request.url == "https://sqs.eu-west-1.amazonaws.com/"
        assert body["QueueUrl"] == QUEUE
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


def run_sends(fake: FakeSqs, bodies: list[str]) -> list[BaseException | None]:
    outcomes: list[BaseException | None] = [None] * len(bodies)

    async def go() -> None:
        sender = SqsSender(QUEUE, network_backend=HandlerBackend(fake))

        async def one(i: int) -> None:
            try:
                await sender.send(bodies[i])
            except SendFailed as exc:
                outcomes[i] = exc

        async with anyio.create_task_group() as group:
            for i in range(len(bodies)):
                group.start_soon(one, i)
        await sender.aclose()

    anyio.run(go)
    return outcomes


def test_one_message_is_one_signed_send_message() -> None:
    fake = FakeSqs()
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

    async def go() -> None:
        sink = SqsUsageSink(QUEUE)
        sink._sender = SqsSender(QUEUE, network_backend=HandlerBackend(fake))
        await sink.send(event)  # never raises: the response must still go out

    with caplog.at_level(logging.ERROR, logger="onerouter.usage"):
        anyio.run(go)
    assert any(event.to_message() in record.getMessage() for record in caplog.records)
