"""The fake Anthropic API speaks the real wire format: the official `anthropic` SDK (when
installed) reads its answers, whole and streamed, into its own types."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_provider import FakeAnthropicProvider, default_reply

anthropic = pytest.importorskip("anthropic")

MESSAGES = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicProvider]:
    with FakeAnthropicProvider() as server:
        yield server


@pytest.fixture
def sdk(fake: FakeAnthropicProvider, monkeypatch: pytest.MonkeyPatch) -> anthropic.Anthropic:
    # Hermetic: only the fake's key, never a credential the shell happens to hold.
    for name in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    fake.reset()
    return anthropic.Anthropic(base_url=fake.base_url, api_key=fake.api_key, max_retries=0)


def test_sdk_reads_a_whole_message(sdk: anthropic.Anthropic, fake: FakeAnthropicProvider) -> None:
    fake.think("Let me see.")
    fake.tool_use("lookup", {"q": "x"}, tool_id="toolu_1")
    message = sdk.messages.create(model="claude-x", max_tokens=100, messages=MESSAGES)
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[1].text == default_reply(MESSAGES)
    assert message.stop_reason == "tool_use"
    assert fake.requests[-1].headers["anthropic-version"]


def test_sdk_reads_a_stream(sdk: anthropic.Anthropic, fake: FakeAnthropicProvider) -> None:
    fake.tool_use("lookup", {"q": "x"}, tool_id="toolu_1")
    with sdk.messages.stream(model="claude-x", max_tokens=100, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == default_reply(MESSAGES)
    assert final.content[-1].input == {"q": "x"}
    assert final.stop_reason == "tool_use"


def test_sdk_sees_overloaded(sdk: anthropic.Anthropic, fake: FakeAnthropicProvider) -> None:
    fake.fail(529)
    with pytest.raises(anthropic.APIStatusError) as caught:
        sdk.messages.create(model="claude-x", max_tokens=100, messages=MESSAGES)
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"
