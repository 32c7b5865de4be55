"""Bring your own key through the real server: the provider receives the caller's credential
(per request, or stored), nothing is charged for it, a failure falls back to the shared keys
only when allowed, and the credential appears in no answer, log, usage record or cache."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import boto3
import openai
import pytest

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.settings import Settings
from onerouter.usage.consumer import UsageConsumer
from tests.account_api import bill, call, manager
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider
from tests.usage_queue import drain, new_queue, receive

HI = [{"role": "user", "content": "hi"}]
OWN = "sk-caller-own-0123456789abcdef"


@pytest.fixture(scope="module")
def queue() -> str:
    return new_queue("onerouter-byok")


@pytest.fixture(scope="module")
def byok(settings: Settings, queue: str) -> Iterator[ServerThread]:
    """A gateway whose usage events go to a queue only this module reads."""
    own = dataclasses.replace(settings, usage_queue_url=queue)
    with ServerThread(create_app(own), name="byok") as server:
        yield server


@pytest.fixture(autouse=True)
def _drained(queue: str) -> None:
    drain(queue)


@pytest.fixture
def account(byok: ServerThread) -> NewAccount:
    opened: NewAccount = byok.app.state.accounts.open_account(Decimal("10.00"))
    return opened


@pytest.fixture
def sdk(byok: ServerThread, account: NewAccount) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{byok.url}/v1", api_key=account.key, max_retries=0)


def conf(key: str = OWN, provider: str = "primary", **extra: Any) -> dict[str, Any]:
    return {"byok_conf": {"provider": provider, "credentials": {"api_key": key}, **extra}}


def bearers(fake: FakeOpenAIProvider) -> list[str]:
    return [r.headers.get("authorization", "") for r in fake.requests]


def test_the_provider_is_called_with_the_caller_s_key_and_nothing_is_charged(
    byok: ServerThread,
    sdk: openai.OpenAI,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    queue: str,
    settings: Settings,
) -> None:
    fake.customer_keys.add(OWN)
    answer = sdk.chat.completions.with_raw_response.create(
        model="test/chat", messages=HI, extra_body={**conf(), "usage": {"include": True}}
    )
    completion = answer.parse()
    assert bearers(fake) == [f"Bearer {OWN}"]
    assert answer.headers["x-onerouter-provider"] == "primary"
    usage: Any = completion.usage
    assert usage.cost == 0
    assert usage.cost_details["upstream_inference_cost"] > 0

    (event,) = receive(queue, 1)
    assert event.is_byok and event.cost == Decimal(0)
    # What the provider bills the caller, at the catalog's prices: 1 and 2 USD per million.
    expected = (Decimal(event.prompt_tokens) * 1 + Decimal(event.completion_tokens) * 2) / 10**6
    assert event.cost_details["upstream_inference_cost"] == expected
    assert sum(v for k, v in event.cost_details.items() if k != "upstream_inference_cost") == 0

    bill(UsageConsumer.from_settings(settings), event)
    shown = call(byok, "GET", f"/generation?id={event.generation_id}", account.key).json()
    assert shown["data"]["is_byok"] is True and shown["data"]["cost"] == "0"
    credits = call(byok, "GET", "/credits", account.key).json()["data"]
    assert Decimal(credits["balance"]) == Decimal("10.00")
    # The usage record holds no credential.
    record = boto3.client("dynamodb").scan(TableName=settings.tables.usage)["Items"]
    assert OWN not in repr(record)


def test_an_account_without_credit_may_still_use_its_own_key(
    byok: ServerThread, fake: FakeOpenAIProvider
) -> None:
    broke = byok.app.state.accounts.open_account(Decimal(0))
    sdk = openai.OpenAI(base_url=f"{byok.url}/v1", api_key=broke.key, max_retries=0)
    fake.customer_keys.add(OWN)
    with pytest.raises(openai.APIStatusError) as refused:
        sdk.chat.completions.create(model="test/chat", messages=HI)
    assert refused.value.status_code == 402
    sdk.chat.completions.create(model="test/chat", messages=HI, extra_body=conf())
    # Allowed to fall back to the shared keys, the request could cost credit: 402 again.
    with pytest.raises(openai.APIStatusError) as still:
        sdk.chat.completions.create(model="test/chat", messages=HI, extra_body=conf(fallback=True))
    assert still.value.status_code == 402


def test_a_refused_own_key_falls_back_to_the_shared_keys_only_when_allowed(
    byok: ServerThread,
    sdk: openai.OpenAI,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
    queue: str,
) -> None:
    # The caller's key is not one the provider knows: 401.
    with pytest.raises(openai.APIStatusError) as failed:
        sdk.chat.completions.create(model="test/chat", messages=HI, extra_body=conf("sk-wrong"))
    assert failed.value.status_code == 502
    assert bearers(fake) == ["Bearer sk-wrong"] and not backup.requests
    assert "sk-wrong" not in failed.value.response.text

    fake.reset()
    answer = sdk.chat.completions.create(
        model="test/chat", messages=HI, extra_body=conf("sk-wrong", fallback=True)
    )
    assert answer.choices[0].message.content
    assert bearers(fake) == ["Bearer sk-wrong", f"Bearer {fake.api_key}"]
    (event,) = receive(queue, 1)
    assert not event.is_byok and event.cost > 0
    # The caller's own key refused is not the endpoint's failure: not in its success rate, and
    # its breaker stays closed.
    assert event.failed_endpoints == ()
    measured = byok.app.state.pipeline.router.health.snapshot("primary/gpt-4o-mini")
    assert measured is not None and all(ok for _, ok in measured.outcomes)


def test_a_provider_quoting_the_caller_s_key_has_it_masked(
    byok: ServerThread, sdk: openai.OpenAI, fake: FakeOpenAIProvider, caplog: Any
) -> None:
    fake.fail(401, body={"error": {"message": f"Incorrect API key provided: {OWN}"}})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(openai.APIStatusError) as failed:
        sdk.chat.completions.create(model="test/chat", messages=HI, extra_body=conf())
    assert OWN not in failed.value.response.text
    assert "Incorrect API key provided: ***" in failed.value.response.text
    assert OWN not in caplog.text


def test_stored_keys_serve_first_until_deleted_and_a_request_s_own_key_wins(
    byok: ServerThread,
    sdk: openai.OpenAI,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    queue: str,
) -> None:
    stored = "sk-stored-key-abcdef0123456789"
    fake.customer_keys.update({stored, OWN})
    management = manager(byok, account)
    saved = call(byok, "PUT", "/provider-keys/primary", management, {"api_key": stored})
    assert saved.status_code == 200, saved.text
    assert stored not in saved.text

    sdk.chat.completions.create(model="test/chat", messages=HI)
    sdk.chat.completions.create(model="test/chat", messages=HI, extra_body=conf())
    assert bearers(fake) == [f"Bearer {stored}", f"Bearer {OWN}"]

    # The stored key falls back by default (its `fallback`): refused, the shared key serves.
    fake.reset()
    fake.customer_keys.add("sk-other")
    answer = sdk.chat.completions.create(model="test/chat", messages=HI)
    assert answer.choices and bearers(fake) == [f"Bearer {stored}", f"Bearer {fake.api_key}"]

    deleted = call(byok, "DELETE", "/provider-keys/primary", management)
    assert deleted.status_code == 200
    fake.reset()
    sdk.chat.completions.create(model="test/chat", messages=HI)
    assert bearers(fake) == [f"Bearer {fake.api_key}"]
    events = receive(queue, 4)
    assert [e.is_byok for e in events] == [True, True, False, False]


def test_a_stored_key_that_may_not_fall_back_keeps_its_provider_s_shared_key_out(
    byok: ServerThread,
    sdk: openai.OpenAI,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
) -> None:
    management = manager(byok, account)
    body = {"api_key": "sk-refused-by-primary", "fallback": False}
    assert call(byok, "PUT", "/provider-keys/primary", management, body).status_code == 200
    answer = sdk.chat.completions.with_raw_response.create(model="test/chat", messages=HI)
    # Primary's own key refused; primary's shared key may not serve; backup (another
    # provider, its shared key) does.
    assert answer.headers["x-onerouter-provider"] == "backup"
    assert bearers(fake) == ["Bearer sk-refused-by-primary"]
    assert len(backup.requests) == 1


def test_own_key_requests_skip_the_prompt_cache(
    sdk: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    fake.customer_keys.add(OWN)
    for _ in range(2):
        answer = sdk.chat.completions.with_raw_response.create(
            model="test/cached", messages=HI, extra_body=conf()
        )
        assert answer.headers["x-onerouter-cache"] == "MISS"
    assert len(fake.requests) == 2


def test_the_messages_door_and_streams_take_byok_conf_too(
    byok: ServerThread, account: NewAccount, sdk: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    fake.customer_keys.add(OWN)
    claude = anthropic.Anthropic(base_url=byok.url, api_key=account.key, max_retries=0)
    message = claude.messages.create(
        model="test/chat", max_tokens=50, messages=HI, extra_body=conf()
    )
    assert message.content
    stream = sdk.chat.completions.create(
        model="test/chat", messages=HI, stream=True, extra_body=conf()
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert bearers(fake) == [f"Bearer {OWN}"] * 2


@pytest.mark.parametrize(
    ("byok_conf", "param"),
    [
        ({"provider": "nowhere", "credentials": {"api_key": OWN}}, "byok_conf.provider"),
        ({"provider": "primary"}, "byok_conf.credentials"),
        ({"provider": "primary", "credentials": {"api_key": ""}}, "byok_conf.credentials.api_key"),
        (
            {"provider": "primary", "credentials": {"api_key": OWN, "x": 1}},
            "byok_conf.credentials.x",
        ),
        ({"provider": "primary", "credentials": {"api_key": OWN}, "extra": 1}, "byok_conf.extra"),
    ],
)
def test_a_malformed_byok_conf_is_a_400_that_never_echoes_the_key(
    sdk: openai.OpenAI, fake: FakeOpenAIProvider, byok_conf: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(
            model="test/chat", messages=HI, extra_body={"byok_conf": byok_conf}
        )
    assert refused.value.body["param"] == param  # type: ignore[index]
    assert OWN not in refused.value.response.text
    assert not fake.requests


def test_an_own_key_for_a_provider_that_does_not_serve_the_model(
    sdk: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(
            model="test/solo", messages=HI, extra_body=conf(provider="backup")
        )
    assert refused.value.body["code"] == "byok_provider_mismatch"  # type: ignore[index]
    # Allowed to fall back, the model's own providers serve on the shared keys.
    sdk.chat.completions.create(
        model="test/solo", messages=HI, extra_body=conf(provider="backup", fallback=True)
    )
