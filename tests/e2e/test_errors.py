"""Every failure is OpenAI-shaped, with the status the OpenAI SDK maps to the right exception."""

from __future__ import annotations

from decimal import Decimal

import httpx
import openai
import pytest

from onerouter.accounts.service import NewAccount
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

MESSAGES = [{"role": "user", "content": "hello there"}]


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"message", "type", "code", "param"} <= set(error)
    return error


def _post(gateway: ServerThread, key: str | None, content: bytes | str, **headers: str):
    if key:
        headers["authorization"] = f"Bearer {key}"
    return httpx.post(
        f"{gateway.url}/v1/chat/completions",
        content=content,
        headers={"content-type": "application/json", **headers},
        timeout=10,
    )


def test_bad_key_is_authentication_error(gateway: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-or1-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="test/chat", messages=MESSAGES)
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"


def test_missing_key_is_401(gateway: ServerThread) -> None:
    response = _post(gateway, None, b'{"model": "test/chat", "messages": []}')
    assert response.status_code == 401
    assert _error(response)["code"] == "missing_api_key"


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="nobody/such-model", messages=MESSAGES)
    assert caught.value.body["code"] == "model_not_found"
    assert caught.value.body["param"] == "model"


def test_model_without_usable_provider_is_503(client: openai.OpenAI) -> None:
    # test/offline's only provider has no credentials configured.
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="test/offline", messages=MESSAGES)
    assert caught.value.status_code == 503
    assert caught.value.response.headers["retry-after"]
    assert caught.value.body["code"] == "no_provider_available"


def test_malformed_json_is_400(gateway: ServerThread, account: NewAccount) -> None:
    response = _post(gateway, account.key, b'{"model": "test/chat", "messages": [')
    assert response.status_code == 400
    error = _error(response)
    assert error["type"] == "invalid_request_error"
    assert "not valid JSON" in error["message"]


def test_missing_messages_is_400_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="test/chat", messages=None)  # type: ignore[arg-type]
    assert caught.value.body["param"] == "messages"


def test_bad_field_is_400_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="test/chat",
            messages=[{"role": "robot", "content": "hi"}],  # type: ignore[list-item]
        )
    assert caught.value.body["param"] == "messages[0].role"


def test_unknown_provider_preference_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="test/chat", messages=MESSAGES, extra_body={"provider": {"fastest": True}}
        )
    assert caught.value.body["param"] == "provider.fastest"


def test_oversized_body_is_413(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    huge = "word " * 100_000  # over the 256 KiB limit the test gateway is configured with
    body = httpx.Request(
        "POST", "/", json={"model": "test/chat", "messages": [{"role": "user", "content": huge}]}
    ).content
    response = _post(gateway, account.key, body)
    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"
    assert fake.requests == []

    # Without a Content-Length (chunked upload), the limit still holds.
    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        content=chunks(),
        headers={"authorization": f"Bearer {account.key}"},
    )
    assert response.status_code == 413
    assert fake.requests == []


def test_unknown_route_is_openai_shaped_404(gateway: ServerThread) -> None:
    response = httpx.get(f"{gateway.url}/v1/nothing-here")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_empty_balance_is_402(gateway: ServerThread, fake: FakeOpenAIProvider) -> None:
    broke = gateway.app.state.accounts.open_account(Decimal(0))
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=broke.key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="test/chat", messages=MESSAGES)
    assert caught.value.status_code == 402
    assert caught.value.body["code"] == "insufficient_credits"
    assert fake.requests == []


def test_upstream_rate_limit_is_429_with_retry_after(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    fake.fail(429, headers={"Retry-After": "7"})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="test/solo", messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body["metadata"]["provider_name"] == "primary"
    assert caught.value.body["metadata"]["raw"]["error"]["code"] == "rate_limit_exceeded"


def test_upstream_5xx_is_502_with_the_providers_words(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    fake.fail(500, body={"error": {"message": "engine overloaded", "type": "server_error"}})
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="test/solo", messages=MESSAGES)
    assert caught.value.status_code == 502
    assert "engine overloaded" in caught.value.body["message"]
    assert caught.value.body["metadata"]["raw"]["error"]["message"] == "engine overloaded"


def test_upstream_400_is_400_and_not_retried_elsewhere(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(400, body={"error": {"message": "max_tokens too large", "type": "invalid"}})
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="test/chat", messages=MESSAGES)
    assert "max_tokens too large" in caught.value.body["message"]
    assert backup.requests == []


def test_upstream_timeout_is_408(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    fake.delay(6)  # the test catalog gives the provider a 5 s first-byte timeout
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="test/solo", messages=MESSAGES, timeout=20)
    assert caught.value.status_code == 408
    assert caught.value.body["code"] == "upstream_timeout"


def test_error_messages_never_echo_the_prompt(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    canary = "canary-7f3a9 secret prompt text"
    fake.fail(503, times=None)
    backup.fail(503, times=None)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="test/chat", messages=[{"role": "user", "content": canary}]
        )
    assert caught.value.status_code == 502
    assert "canary" not in caught.value.response.text
    assert "primary" in caught.value.body["message"]
    assert "backup" in caught.value.body["message"]
