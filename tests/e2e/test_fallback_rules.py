"""A request's own `fallback_rules` end to end: which failures move on to the next endpoint,
which are the answer, and the thresholds that cut a slow endpoint short. The official OpenAI
SDK against the running gateway; `test/chat` is `primary` (tried first), then `backup`."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from onerouter.accounts.service import NewAccount
from onerouter.dev.poller import drain
from onerouter.settings import Settings
from onerouter.usage.consumer import make_handler
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "fall back gently"}]
# The primary's delay and the threshold it must trip, far apart for a loaded machine.
DELAY, THRESHOLD_MS = 1.5, 300


def _rules(rules: Any) -> dict[str, Any]:
    return {"extra_body": {"fallback_rules": rules}}


def _ask(client: openai.OpenAI, model: str = "test/chat", **params: Any) -> tuple[str, str]:
    """(the provider that served, the generation id) of a whole or streamed answer."""
    raw = client.chat.completions.with_raw_response.create(model=model, messages=MESSAGES, **params)
    if params.get("stream"):
        for _ in raw.parse():
            pass
    else:
        raw.parse()
    return raw.headers["x-onerouter-provider"], raw.headers["x-onerouter-generation-id"]


def _error(caught: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, Any]:
    body = caught.value.body
    assert isinstance(body, dict)
    return body


# ---- statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
@pytest.mark.parametrize("rules", [None, "auto"], ids=["default", "auto"])
def test_auto_falls_back_on_outages_and_rate_limits(
    client: openai.OpenAI,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
    status: int,
    rules: Any,
) -> None:
    fake.fail(status)
    served, _ = _ask(client, **({} if rules is None else _rules(rules)))
    assert served == "backup"
    assert len(fake.requests) == 1
    # The rules steer the gateway and never reach a provider.
    assert "fallback_rules" not in backup.requests[-1].body


def test_auto_does_not_fall_back_on_a_bad_request(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(400)
    with pytest.raises(openai.BadRequestError):
        _ask(client, **_rules("auto"))
    assert backup.requests == []


def test_a_listed_400_falls_back(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(400)
    served, _ = _ask(client, **_rules({"status_codes": [400]}))
    assert served == "backup"
    assert "fallback_rules" not in backup.requests[-1].body


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_status_left_out_of_the_list_is_the_answer(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider, stream: bool
) -> None:
    fake.fail(503)
    with pytest.raises(openai.APIStatusError) as caught:
        _ask(client, stream=stream, **_rules({"status_codes": [502]}))
    assert caught.value.status_code == 502  # the gateway's status for a provider's 5xx
    assert _error(caught)["metadata"]["provider_name"] == "primary"
    assert backup.requests == []


def test_without_connection_errors_a_dead_endpoint_is_the_answer(
    client: openai.OpenAI, backup: FakeOpenAIProvider
) -> None:
    served, _ = _ask(client, model="test/dead-first")  # auto: on to the backup
    assert served == "backup"
    backup.reset()
    with pytest.raises(openai.APIStatusError) as caught:
        _ask(client, model="test/dead-first", **_rules({"connection_errors": False}))
    assert _error(caught)["metadata"]["provider_name"] == "closed-port"
    assert backup.requests == []


def test_unknown_rule_is_a_400_naming_it(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, **_rules({"status_codes": [503], "retry_twice": True}))
    assert _error(caught)["param"] == "fallback_rules.retry_twice"
    assert fake.requests == []


# ---- thresholds ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_slow_first_byte_falls_back(
    client: openai.OpenAI,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
    stream: bool,
) -> None:
    fake.delay(DELAY)
    served, _ = _ask(client, stream=stream, **_rules({"max_ttft_ms": THRESHOLD_MS}))
    assert served == "backup"
    assert len(fake.requests) == 1
    assert "fallback_rules" not in backup.requests[-1].body


def test_a_slow_whole_answer_falls_back_without_blaming_the_endpoint(
    gateway: ServerThread,
    settings: Settings,
    client: openai.OpenAI,
    fake: FakeOpenAIProvider,
) -> None:
    fake.delay(DELAY)
    served, generation = _ask(client, **_rules({"max_latency_ms": THRESHOLD_MS}))
    assert served == "backup"
    assert settings.usage_queue_url
    drain(settings.usage_queue_url, make_handler(settings))
    record = gateway.app.state.usage_records.get(generation)
    assert record is not None and record["provider"] == "backup"
    # The caller's own bound cut it: not the endpoint's failure (stats, breaker).
    assert "failed_endpoints" not in record


def test_with_nothing_left_the_error_names_the_threshold(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    """`test/solo` has one endpoint: the cut is the answer, a 408 saying which threshold."""
    fake.delay(DELAY)
    with pytest.raises(openai.APIStatusError) as caught:
        _ask(client, model="test/solo", **_rules({"max_ttft_ms": THRESHOLD_MS}))
    assert caught.value.status_code == 408
    assert f"first byte over {THRESHOLD_MS} ms" in _error(caught)["message"]


def test_the_responses_door_takes_the_rules(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503)
    with pytest.raises(openai.APIStatusError) as caught:
        client.responses.create(model="test/chat", input="hi", **_rules({"status_codes": [429]}))
    assert caught.value.status_code == 502
    assert backup.requests == []


def test_embeddings_take_the_rules(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503)
    raw = client.embeddings.with_raw_response.create(
        model="test/embed", input="hi", encoding_format="float", **_rules({"status_codes": [503]})
    )
    assert raw.headers["x-onerouter-provider"] == "backup"
    assert "fallback_rules" not in backup.requests[-1].body
    fake.fail(503)
    with pytest.raises(openai.APIStatusError):
        client.embeddings.create(
            model="test/embed", input="hi", encoding_format="float", **_rules({"status_codes": []})
        )


def test_the_messages_door_takes_the_rules_too(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    """Through the Anthropic SDK: a 400 the rules list falls back; an unknown rule is a 400
    in Anthropic's envelope."""
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=account.key, max_retries=0)
    ask: dict[str, Any] = {
        "model": "test/chat",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "fall back gently"}],
    }
    fake.fail(400)
    raw = claude.messages.with_raw_response.create(
        **ask, extra_body={"fallback_rules": {"status_codes": [400]}}
    )
    assert raw.headers["x-onerouter-provider"] == "backup"
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(**ask, extra_body={"fallback_rules": {"retry_twice": True}})
    assert "retry_twice" in str(caught.value)
