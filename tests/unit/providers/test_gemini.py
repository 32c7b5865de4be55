"""Golden tests of the `gemini` translation: OpenAI JSON in, Gemini JSON out, and back."""

from __future__ import annotations

from typing import Any

import pytest

from onerouter.errors import InvalidRequest
from onerouter.providers.gemini import from_provider_response, to_provider_request
from onerouter.requests import CompletionRequest, GatewayRequest
from tests.unit.providers.google import TARGET, translate


# -------------------------------------------------------------------------------- requests
def test_system_and_developer_messages_become_the_system_instruction() -> None:
    body = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
            {"role": "user", "content": "Hello"},
        ]
    )
    assert body == {
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use French."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
    }


def test_roles_map_and_consecutive_turns_merge() -> None:
    body = translate(
        messages=[
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "text", "text": "two"}]},
            {"role": "assistant", "content": "three"},
            {"role": "assistant", "content": "four"},
            {"role": "user", "content": "five"},
        ]
    )
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]},
        {"role": "model", "parts": [{"text": "three"}, {"text": "four"}]},
        {"role": "user", "parts": [{"text": "five"}]},
    ]


def test_images_files_and_audio_become_inline_or_file_data() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp?size=2"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/photo"}},
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="},
        },
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]
    body = translate(messages=[{"role": "user", "content": content}])
    assert body["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.webp?size=2"}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
    ]


def test_an_unsupported_part_is_a_400_naming_the_part_and_the_model() -> None:
    content = [{"type": "text", "text": "hi"}, {"type": "video_url", "video_url": {"url": "x"}}]
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=[{"role": "user", "content": content}])
    error = caught.value
    assert error.status == 400
    assert error.param == "messages[0].content[1]"
    assert "messages[0].content[1]" in error.message
    assert "'video_url'" in error.message
    assert "google/gemini-2.5-flash" in error.message


def test_an_image_in_a_system_message_is_refused() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    with pytest.raises(InvalidRequest, match=r"messages\[0\]\.content\[0\]"):
        translate(
            messages=[{"role": "system", "content": [image]}, {"role": "user", "content": "x"}]
        )


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
                "examples": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": {}},
                },
            },
            "required": ["city"],
        },
    },
}


def test_tools_become_function_declarations_with_a_schema_gemini_accepts() -> None:
    body = translate(messages=[{"role": "user", "content": "hi"}], tools=[WEATHER_TOOL])
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather of a city",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "city": {"type": "string"},
                            "unit": {"type": "string", "nullable": True, "enum": ["c", "f"]},
                            # a property may be *named* like a dropped keyword
                            "examples": {"type": "array", "items": {"type": "object"}},
                        },
                        "required": ["city"],
                    },
                }
            ]
        }
    ]


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ],
)
def test_tool_choice(choice: Any, config: dict[str, Any]) -> None:
    body = translate(
        messages=[{"role": "user", "content": "hi"}], tools=[WEATHER_TOOL], tool_choice=choice
    )
    assert body["toolConfig"] == {"functionCallingConfig": config}


def test_tool_round_trip_keeps_ids_consistent() -> None:
    # Gemini calls two functions; we name them call_0 and call_1 ...
    answer = from_provider_response(
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                            {"functionCall": {"name": "get_time", "args": {"tz": "CET"}}},
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ]
        },
        TARGET,
    )
    message = answer["choices"][0]["message"]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert answer["choices"][0]["native_finish_reason"] == "STOP"
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        },
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"tz":"CET"}'},
        },
    ]
    # ... and the client's next turn, answering by those ids, maps back to the names.
    body = translate(
        messages=[
            {"role": "user", "content": "Weather and time in Paris?"},
            message,
            {"role": "tool", "tool_call_id": "call_1", "content": "10:00"},
            {"role": "tool", "tool_call_id": "call_0", "content": '{"temp": 21}'},
        ]
    )
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Weather and time in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_time", "args": {"tz": "CET"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_time", "response": {"content": "10:00"}}},
                {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
            ],
        },
    ]


def test_thought_signature_travels_with_the_tool_call() -> None:
    part = {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "c2ln"}
    answer = from_provider_response(
        {"candidates": [{"content": {"parts": [part]}, "finishReason": "STOP"}]}, TARGET
    )
    message = answer["choices"][0]["message"]
    assert message["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": "c2ln"}}
    body = translate(
        messages=[
            {"role": "user", "content": "go"},
            message,
            {"role": "tool", "tool_call_id": "call_0", "content": "ok"},
        ]
    )
    assert body["contents"][1]["parts"] == [part]


def test_a_tool_result_for_an_unknown_call_is_a_400() -> None:
    with pytest.raises(InvalidRequest, match="tool_call_id"):
        translate(
            messages=[
                {"role": "user", "content": "go"},
                {"role": "tool", "tool_call_id": "call_9", "content": "ok"},
            ]
        )


def test_generation_config() -> None:
    body = translate(
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=50,
        max_completion_tokens=100,
        temperature=2,
        top_p=0.9,
        top_k=40,
        stop="END",
        seed=7,
        n=2,
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "x",
                "strict": True,
                "schema": {"type": "object", "additionalProperties": False, "properties": {}},
            },
        },
        reasoning={"effort": "high"},
    )
    assert body["generationConfig"] == {
        "maxOutputTokens": 100,
        "temperature": 2,
        "topP": 0.9,
        "topK": 40,
        "stopSequences": ["END"],
        "seed": 7,
        "candidateCount": 2,
        "responseMimeType": "application/json",
        "responseSchema": {"type": "object", "properties": {}},
        "thinkingConfig": {"thinkingBudget": 24576, "includeThoughts": True},
    }


@pytest.mark.parametrize(
    ("raw", "thinking"),
    [
        ({"reasoning": {"max_tokens": 2000}}, {"thinkingBudget": 2000, "includeThoughts": True}),
        (
            {"reasoning": {"effort": "low", "exclude": True}},
            {"thinkingBudget": 1024, "includeThoughts": False},
        ),
        ({"reasoning": {"effort": "none"}}, {"thinkingBudget": 0, "includeThoughts": False}),
        ({"reasoning_effort": "medium"}, {"thinkingBudget": 8192, "includeThoughts": True}),
        ({}, None),
    ],
)
def test_thinking_budget(raw: dict[str, Any], thinking: dict[str, Any] | None) -> None:
    body = translate(messages=[{"role": "user", "content": "hi"}], **raw)
    assert body.get("generationConfig", {}).get("thinkingConfig") == thinking


def test_json_object_asks_for_json() -> None:
    body = translate(
        messages=[{"role": "user", "content": "hi"}], response_format={"type": "json_object"}
    )
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


def test_legacy_completion_prompt_is_one_user_message() -> None:
    raw = {"model": "m", "prompt": "Once upon a time", "max_tokens": 5}
    request = GatewayRequest("completion", CompletionRequest.model_validate(raw), raw)
    assert to_provider_request(request, TARGET) == {
        "contents": [{"role": "user", "parts": [{"text": "Once upon a time"}]}],
        "generationConfig": {"maxOutputTokens": 5},
    }


def test_safety_settings_and_a_context_cache_pass_through() -> None:
    body = translate(
        messages=[{"role": "user", "content": "Hi"}],
        safety_settings=[
            {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH", "x": 1}
        ],
        cached_content="cachedContents/abc123",
    )
    assert body["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]
    assert body["cachedContent"] == "cachedContents/abc123"
    assert "safetySettings" not in translate(messages=[{"role": "user", "content": "Hi"}])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("safety_settings", {"category": "HARM_CATEGORY_HARASSMENT"}),
        ("safety_settings", [{"category": "HARM_CATEGORY_HARASSMENT"}]),
        ("cached_content", "abc123"),
        ("cached_content", 7),
    ],
)
def test_malformed_google_fields_are_a_400_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=[{"role": "user", "content": "Hi"}], **{field: value})
    assert caught.value.param == field
