"""The `gemini` protocol's answers: Gemini responses translated into OpenAI's shape."""

from __future__ import annotations

import pytest

from onerouter.providers.gemini import from_provider_response
from tests.unit.providers.google import TARGET


# ------------------------------------------------------------------------------- responses
def test_response_with_thoughts_and_usage() -> None:
    data = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Let me think.", "thought": True},
                        {"text": "Hello "},
                        {"text": "world", "thoughtSignature": "c2ln"},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
                "safetyRatings": [],
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 120,
            "candidatesTokenCount": 2,
            "thoughtsTokenCount": 30,
            "cachedContentTokenCount": 100,
            "totalTokenCount": 152,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "abc",
    }
    answer = from_provider_response(data, TARGET)
    created = answer.pop("created")
    assert isinstance(created, int)
    assert answer == {
        "id": "abc",
        "object": "chat.completion",
        "model": "google/gemini-2.5-flash",
        "provider": "google",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello world",
                    "reasoning": "Let me think.",
                },
                "finish_reason": "stop",
                "native_finish_reason": "STOP",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 32,
            "total_tokens": 152,
            "prompt_tokens_details": {"cached_tokens": 100},
            "completion_tokens_details": {"reasoning_tokens": 30},
        },
    }


@pytest.mark.parametrize(
    ("native", "reason"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "stop"),
    ],
)
def test_finish_reasons(native: str, reason: str) -> None:
    data = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": native}]}
    choice = from_provider_response(data, TARGET)["choices"][0]
    assert (choice["finish_reason"], choice["native_finish_reason"]) == (reason, native)


def test_a_blocked_prompt_is_a_content_filter_answer() -> None:
    data = {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
    }
    answer = from_provider_response(data, TARGET)
    assert answer["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": None},
            "finish_reason": "content_filter",
            "native_finish_reason": "SAFETY",
            "logprobs": None,
        }
    ]
    assert answer["usage"]["prompt_tokens"] == 8
    assert answer["usage"]["completion_tokens"] == 0


def test_several_candidates_become_several_choices() -> None:
    data = {
        "candidates": [
            {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP", "index": 0},
            {"content": {"parts": [{"text": "b"}]}, "finishReason": "MAX_TOKENS", "index": 1},
        ]
    }
    choices = from_provider_response(data, TARGET)["choices"]
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in choices] == [
        (0, "a", "stop"),
        (1, "b", "length"),
    ]


def test_legacy_completion_answer_has_text() -> None:
    data = {"candidates": [{"content": {"parts": [{"text": "the end"}]}, "finishReason": "STOP"}]}
    answer = from_provider_response(data, TARGET, "completion")
    assert answer["object"] == "text_completion"
    assert answer["choices"][0]["text"] == "the end"
    assert "message" not in answer["choices"][0]
