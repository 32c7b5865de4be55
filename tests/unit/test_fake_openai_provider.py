"""Tests for the fake OpenAI upstream used by the gateway tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI

from tests.fakes.openai_provider import (
    FakeOpenAIProvider,
    completion_tokens,
    default_reply,
    prompt_tokens,
)

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "say hi please"},
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIProvider]:
    with FakeOpenAIProvider() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAIProvider) -> FakeOpenAIProvider:
    server.reset()
    return server


@pytest.fixture
def client(fake: FakeOpenAIProvider) -> OpenAI:
    return OpenAI(base_url=fake.base_url, api_key=fake.api_key, max_retries=0)


def auth(fake: FakeOpenAIProvider) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.api_key}"}


def sse_events(text: str) -> list[str]:
    assert text.endswith("\n\n")
    events = text.split("\n\n")[:-1]
    assert all(e.startswith("data: ") for e in events)
    return [e.removeprefix("data: ") for e in events]


def test_helpers() -> None:
    assert default_reply(MESSAGES) == "Hello from fake: 3 words"
    assert prompt_tokens(MESSAGES) == 3 + 3 + 2
    assert prompt_tokens([{"role": "user", "content": [{"type": "text"}]}]) == 1
    assert completion_tokens("Hello from fake: 3 words") == 5


def test_base_url_and_models(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/v1")
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids


def test_chat_non_stream(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert resp.id.startswith("chatcmpl-")
    assert resp.object == "chat.completion"
    assert resp.model == "gpt-4o-mini"
    assert resp.system_fingerprint == "fp_fake"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "Hello from fake: 3 words"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == prompt_tokens(MESSAGES)
    assert resp.usage.completion_tokens == 5
    assert resp.usage.total_tokens == prompt_tokens(MESSAGES) + 5
    raw = httpx.post(
        f"{fake.base_url}/chat/completions",
        json={"model": "m", "messages": MESSAGES},
        headers=auth(fake),
    ).json()
    assert raw["choices"][0]["logprobs"] is None
    assert isinstance(raw["created"], int)


def test_chat_stream_without_usage(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    content = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert len(content) == 5
    assert "".join(content) == "Hello from fake: 3 words"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].choices[0].delta.content is None
    assert all(c.object == "chat.completion.chunk" and c.model == "gpt-4o" for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_chat_stream_raw_with_usage(fake: FakeOpenAIProvider) -> None:
    body = {
        "model": "gpt-4o",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    r = httpx.post(f"{fake.base_url}/chat/completions", json=body, headers=auth(fake))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-2]["choices"][0] == {
        "index": 0,
        "delta": {},
        "finish_reason": "stop",
        "logprobs": None,
    }
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": prompt_tokens(MESSAGES),
        "completion_tokens": 5,
        "total_tokens": prompt_tokens(MESSAGES) + 5,
    }
    assert len({c["id"] for c in chunks}) == 1


def test_legacy_completions(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    resp = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="one two")
    assert resp.object == "text_completion"
    assert resp.choices[0].text == "Hello from fake: 2 words"
    assert resp.usage is not None and resp.usage.prompt_tokens == 3
    stream = client.completions.create(
        model="gpt-3.5-turbo-instruct",
        prompt="one two",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Hello from fake: 2 words"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5


def test_reply_override(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    fake.reply("custom answer")
    for _ in range(2):
        resp = client.chat.completions.create(model="m", messages=MESSAGES)
        assert resp.choices[0].message.content == "custom answer"
        assert resp.usage is not None and resp.usage.completion_tokens == 2
    fake.reset()
    resp = client.chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "Hello from fake: 3 words"


def test_wrong_key_is_401(fake: FakeOpenAIProvider) -> None:
    bad = OpenAI(base_url=fake.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        bad.chat.completions.create(model="m", messages=MESSAGES)
    assert exc.value.status_code == 401
    r = httpx.get(f"{fake.base_url}/models")
    assert r.status_code == 401
    assert r.json() == {
        "error": {
            "message": r.json()["error"]["message"],
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }


def test_fail_503_once(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    fake.fail(503)
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert exc.value.status_code == 503
    assert isinstance(exc.value.body, dict) and exc.value.body["type"] == "server_error"
    resp = client.chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "Hello from fake: 3 words"


def test_fail_429_retry_after_times(fake: FakeOpenAIProvider) -> None:
    fake.fail(429, headers={"Retry-After": "7"}, times=2)
    url, body = f"{fake.base_url}/chat/completions", {"model": "m", "messages": MESSAGES}
    for _ in range(2):
        r = httpx.post(url, json=body, headers=auth(fake))
        assert r.status_code == 429
        assert r.headers["retry-after"] == "7"
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert httpx.post(url, json=body, headers=auth(fake)).status_code == 200


def test_fail_always_with_custom_body(fake: FakeOpenAIProvider) -> None:
    fake.fail(502, body="<html>bad gateway</html>", times=None)
    for _ in range(3):
        r = httpx.get(f"{fake.base_url}/models", headers=auth(fake))
        assert r.status_code == 502 and r.text == "<html>bad gateway</html>"
    fake.reset()
    assert httpx.get(f"{fake.base_url}/models", headers=auth(fake)).status_code == 200


def test_drop_stream(fake: FakeOpenAIProvider) -> None:
    fake.drop_stream(after_chunks=2)
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    received = ""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST", f"{fake.base_url}/chat/completions", json=body, headers=auth(fake)
        ) as r,
    ):
        assert r.status_code == 200
        for text in r.iter_text():
            received += text
    assert "[DONE]" not in received
    assert "Hello " in received and "fake: " not in received
    assert fake.disconnects == 0
    # only the next stream was affected
    r2 = httpx.post(f"{fake.base_url}/chat/completions", json=body, headers=auth(fake))
    assert sse_events(r2.text)[-1] == "[DONE]"


def test_drop_stream_seen_by_sdk(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    fake.drop_stream(after_chunks=1)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIConnectionError):  # the SDK wraps httpx.RemoteProtocolError
        list(stream)


def test_delay_and_stream_pause(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    fake.delay(0.05)
    fake.stream_pause(0.05, after_chunks=2)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == "Hello from fake: 3 words"
    # a short client timeout trips on the (slow first byte) delay
    fake.delay(0.3)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{fake.base_url}/models", headers=auth(fake), timeout=0.05)


def test_recording_passes_unknown_fields(fake: FakeOpenAIProvider, client: OpenAI) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_body={"x_custom": {"a": 1}},
        extra_headers={"X-Trace": "abc"},
    )
    (req,) = fake.requests
    assert req.method == "POST" and req.path == "/v1/chat/completions"
    assert req.body["x_custom"] == {"a": 1}
    assert req["body"]["messages"] == MESSAGES
    assert req.headers["authorization"] == f"Bearer {fake.api_key}"
    assert req.headers["x-trace"] == "abc"
    fake.reset()
    assert fake.requests == []


def test_invalid_json_is_400(fake: FakeOpenAIProvider) -> None:
    r = httpx.post(
        f"{fake.base_url}/chat/completions",
        content=b"{not json",
        headers={**auth(fake), "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert fake.requests[-1].body is None


def test_client_disconnect_is_counted(fake: FakeOpenAIProvider) -> None:
    fake.stream_pause(0.5, after_chunks=1)
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    with (
        httpx.Client() as http,
        http.stream(
            "POST", f"{fake.base_url}/chat/completions", json=body, headers=auth(fake)
        ) as r,
    ):
        lines = r.iter_lines()
        assert next(lines).startswith("data: ")  # got the first event, then hang up
    assert fake.wait_for(lambda: fake.disconnects == 1)


def test_start_stop_restart() -> None:
    fake = FakeOpenAIProvider(api_key="k2")
    fake.start()
    try:
        r = httpx.get(f"{fake.base_url}/models", headers={"Authorization": "Bearer k2"})
        assert r.status_code == 200
    finally:
        fake.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{fake.base_url}/models")
