"""From a request to the books, and a prompt nowhere on the way.

A canary string goes into prompts (and the `user` field) sent to a gateway of this test's own,
whose usage queue is this test's own too. Its usage events are billed by the consumer; then
no queue message, table item or log line may hold the canary, and the books balance exactly.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Iterator
from decimal import Decimal

import boto3
import openai
import pytest

from onerouter.api.app import create_app
from onerouter.billing.books import Books
from onerouter.settings import Settings
from onerouter.store.accounts import AccountsRepository
from onerouter.store.ledger import LedgerRepository
from onerouter.store.usage import UsageRepository
from onerouter.usage.consumer import make_handler
from onerouter.usage.events import UsageEvent
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider
from tests.usage_events import failed_ids, sqs_event, sqs_record, usage_event

CANARY = "CANARY-" + secrets.token_hex(12)


@pytest.fixture
def own_queue(aws: object) -> Iterator[str]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="usage-canary-" + secrets.token_hex(4))["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def own_gateway(settings: Settings, own_queue: str) -> Iterator[ServerThread]:
    own = dataclasses.replace(settings, usage_queue_url=own_queue)
    with ServerThread(create_app(own), name="canary-gateway") as server:
        yield server


def _everything_stored(settings: Settings) -> str:
    """Every item of every table this test session's stack has, as text."""
    dynamodb = boto3.client("dynamodb")
    prefix = settings.tables.accounts.rsplit("-", 1)[0]
    dumps = []
    for table in dynamodb.list_tables()["TableNames"]:
        if table.startswith(prefix):
            for page in dynamodb.get_paginator("scan").paginate(TableName=table):
                dumps.append(repr(page["Items"]))
    return "\n".join(dumps)


def _peek(queue_url: str) -> list[str]:
    """The bodies of the messages waiting, left in the queue."""
    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=5
        ).get("Messages", [])
        if not messages:
            break
        bodies.extend(m["Body"] for m in messages)
    return bodies


def test_requests_are_billed_exactly_and_their_prompts_are_nowhere(
    own_gateway: ServerThread,
    own_queue: str,
    settings: Settings,
    fake: FakeOpenAIProvider,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    opened = own_gateway.app.state.accounts.open_account(Decimal("10.00"))
    client = openai.OpenAI(base_url=f"{own_gateway.url}/v1", api_key=opened.key, max_retries=0)
    prompt = [{"role": "user", "content": f"please repeat {CANARY} twice"}]
    with caplog.at_level(logging.DEBUG, logger="onerouter"):
        whole = client.chat.completions.create(model="test/solo", messages=prompt, user=CANARY)
        streamed = list(
            client.chat.completions.create(
                model="test/chat", messages=prompt, stream=True, user=CANARY
            )
        )
    assert whole.choices[0].message.content
    assert streamed
    gateway_logs = caplog.text
    caplog.clear()

    bodies = _peek(own_queue)
    assert len(bodies) == 2
    events = [UsageEvent.from_message(body) for body in bodies]
    assert {e.generation_id for e in events} == {whole.id, streamed[0].id}
    assert all(e.account_id == opened.account_id for e in events)
    total = sum(e.cost for e in events)
    assert total > 0

    # They are visible again in 5 s; rather than wait, the handler the queue would call gets
    # the message bodies we saw.
    handler = make_handler(settings)
    with caplog.at_level(logging.DEBUG):
        response = handler(sqs_event(*(sqs_record(body) for body in bodies)), None)
        assert failed_ids(response) == set()
        # A delivery of the same events again, as SQS may, bills nothing more.
        response = handler(sqs_event(*(sqs_record(body) for body in bodies)), None)
        assert failed_ids(response) == set()
    consumer_logs = caplog.text

    accounts = AccountsRepository(settings.tables.accounts)
    account = accounts.get(opened.account_id)
    assert account is not None
    assert account.balance == Decimal("10.00") - total
    books = Books(
        accounts,
        LedgerRepository(settings.tables.ledger, accounts),
        UsageRepository(settings.tables.usage),
    )
    (checked,) = books.check([opened.account_id])
    assert checked.balances, checked.describe()

    out, err = capsys.readouterr()
    for place, text in [
        ("queue messages", "\n".join(bodies)),
        ("tables", _everything_stored(settings)),
        ("gateway logs", gateway_logs),
        ("consumer logs", consumer_logs),
        ("stdout", out),
        ("stderr", err),
    ]:
        assert CANARY not in text, f"the prompt's canary is in the {place}"


def test_the_consumer_never_stores_or_logs_what_a_bad_message_carries(
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The consumer side alone: messages that smuggle text (an extra field, a field of the
    wrong kind, a body that is no event) are refused, and the text goes nowhere."""
    good = usage_event("acct_canary_" + secrets.token_hex(4))
    values = good.to_message()
    smuggling = [
        values[:-1] + f', "prompt": "{CANARY}"}}',
        values.replace('"status":"ok"', f'"status":"{CANARY}"'),
        values.replace('"finish_reason":"stop"', f'"finish_reason":"{CANARY}\\n"'),
        values.replace('"cost":"0.000123"', f'"cost":"{CANARY}"'),
        CANARY,
        f'{{"version": 1, "{CANARY}": 1}}',
    ]
    assert all(CANARY in body for body in smuggling)
    records = [sqs_record(body, f"smuggler-{i}") for i, body in enumerate(smuggling)]
    with caplog.at_level(logging.DEBUG):
        response = make_handler(settings)(sqs_event(*records), None)

    assert failed_ids(response) == {r["messageId"] for r in records}
    out, err = capsys.readouterr()
    assert CANARY not in caplog.text + out + err + repr(response)
    assert CANARY not in _everything_stored(settings)
