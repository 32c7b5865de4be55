"""A provider's timeouts: a stream must start within `first_byte`, while a non-streamed answer,
which arrives only once it is all written, may take up to `whole`."""

from __future__ import annotations

import anyio
import pytest

from onerouter.providers.base import UpstreamError
from onerouter.providers.http import Upstream
from onerouter.routing.catalog import Provider
from tests.fakes.openai_provider import FakeOpenAIProvider

BODY = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'


def provider(fake: FakeOpenAIProvider) -> Provider:
    return Provider.model_validate(
        {
            "id": "slow",
            "protocol": "openai",
            "base_url": fake.base_url,
            "timeouts": {"connect": 2, "first_byte": 0.2, "whole": 5},
        }
    )


def headers(fake: FakeOpenAIProvider) -> dict[str, str]:
    return {"content-type": "application/json", "authorization": f"Bearer {fake.api_key}"}


def test_a_whole_answer_may_take_longer_than_a_first_byte(fake: FakeOpenAIProvider) -> None:
    fake.delay(0.5)
    url = f"{fake.base_url}/chat/completions"

    async def go() -> object:
        upstream = Upstream()
        try:
            return await upstream.post_json(provider(fake), url, headers(fake), BODY)
        finally:
            await upstream.aclose()

    answer = anyio.run(go)
    assert isinstance(answer, dict) and answer["choices"]


def test_a_stream_must_start_within_the_first_byte_timeout(fake: FakeOpenAIProvider) -> None:
    fake.delay(0.5)
    url = f"{fake.base_url}/chat/completions"
    body = BODY[:-1] + b', "stream": true}'

    async def go() -> None:
        upstream = Upstream()
        try:
            async for _ in upstream.sse_events(provider(fake), url, headers(fake), body):
                pass
        finally:
            await upstream.aclose()

    with pytest.raises(UpstreamError) as caught:
        anyio.run(go)
    assert caught.value.kind == "timeout"
