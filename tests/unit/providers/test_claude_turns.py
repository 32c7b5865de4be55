"""What Claude needs across turns, on Anthropic's API and on Bedrock alike: signed thinking out
as `reasoning_details` and back as thinking blocks, tool results with images, and the client's
`anthropic-beta` features."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from onerouter.providers import anthropic, bedrock
from onerouter.providers.anthropic.adapter import headers_for
from onerouter.providers.openai import to_provider_request as openai_request
from onerouter.providers.reasoning import FORMAT, signed_thinking
from onerouter.requests import GatewayRequest
from tests.unit.providers import test_anthropic as claude
from tests.unit.providers import test_bedrock as on_bedrock

CALL = {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def text_detail(index: int, **fields: Any) -> dict[str, Any]:
    return {"type": "reasoning.text", "format": FORMAT, "index": index, **fields}


def conversation(assistant: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Weather?"},
        assistant,
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
    ]


# ------------------------------------------------------------------------------ reading back


def test_streamed_pieces_of_one_index_are_joined_in_order() -> None:
    message = {
        "reasoning_details": [
            text_detail(0, text="Let me "),
            text_detail(0, text="think."),
            text_detail(0, signature="sig-0"),
            {"type": "reasoning.encrypted", "data": "opaque", "format": FORMAT, "index": 1},
            text_detail(2, text="Again."),
            text_detail(2, signature="sig-2"),
        ]
    }
    assert signed_thinking(message) == [
        ("text", "Let me think.", "sig-0"),
        ("encrypted", "opaque", None),
        ("text", "Again.", "sig-2"),
    ]


def test_unsigned_text_and_other_families_are_left_out() -> None:
    message = {
        "reasoning_details": [
            text_detail(0, text="no signature"),
            {"type": "reasoning.text", "text": "x", "signature": "g", "format": "google-gemini-v1"},
            {"type": "reasoning.summary", "summary": "s", "format": FORMAT, "index": 1},
            "not a detail",
        ]
    }
    assert signed_thinking(message) == []
    assert signed_thinking({"reasoning_details": "nonsense"}) == []
    assert signed_thinking({}) == []


# ------------------------------------------------------------------------------ Anthropic


def test_anthropic_answer_round_trips_its_thinking_into_the_next_turn() -> None:
    data = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Check the tool.", "signature": "sig-a"},
            {"type": "redacted_thinking", "data": "ENCRYPTED"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    message = anthropic.from_provider_response(data, claude.TARGET)["choices"][0]["message"]
    assert message["reasoning_details"] == [
        text_detail(0, text="Check the tool.", signature="sig-a"),
        {"type": "reasoning.encrypted", "data": "ENCRYPTED", "format": FORMAT, "index": 1},
    ]

    body = claude.translate(messages=conversation(message))
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Check the tool.", "signature": "sig-a"},
            {"type": "redacted_thinking", "data": "ENCRYPTED"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        ],
    }


def test_anthropic_stream_details_echoed_unmerged_still_round_trip() -> None:
    translator = anthropic.StreamTranslator(claude.TARGET)

    def delta(index: int, **delta: Any) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": index, "delta": delta}

    def start(index: int, **block: Any) -> dict[str, Any]:
        return {"type": "content_block_start", "index": index, "content_block": block}

    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 1}}},
        start(0, type="thinking"),
        delta(0, type="thinking_delta", thinking="Hm, "),
        delta(0, type="thinking_delta", thinking="ok."),
        delta(0, type="signature_delta", signature="sig"),
        start(1, type="redacted_thinking", data="R"),
        start(2, type="text", text=""),
        delta(2, type="text_delta", text="Hi"),
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}},
        {"type": "message_stop"},
    ]
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    details = [
        detail
        for chunk in chunks
        for choice in chunk["choices"]
        for detail in choice["delta"].get("reasoning_details") or ()
    ]
    reasoning = "".join(
        choice["delta"].get("reasoning") or "" for chunk in chunks for choice in chunk["choices"]
    )
    assert reasoning == "Hm, ok."
    assert signed_thinking({"reasoning_details": details}) == [
        ("text", "Hm, ok.", "sig"),
        ("encrypted", "R", None),
    ]


def test_client_betas_join_the_catalogs_on_anthropic() -> None:
    assert GatewayRequest.betas(" a-1 ,b-2,, ") == ("a-1", "b-2")
    assert GatewayRequest.betas(None) == ()
    assert "anthropic-beta" not in headers_for(claude.TARGET)
    assert headers_for(claude.TARGET, ("context-1m",))["anthropic-beta"] == "context-1m"

    provider = claude.PROVIDER.model_copy(
        update={"headers": {"Anthropic-Beta": "files-api,context-1m"}}
    )
    target = replace(claude.TARGET, provider=provider)
    headers = headers_for(target, ("context-1m", "interleaved-thinking"))
    assert headers["Anthropic-Beta"] == "files-api,context-1m,interleaved-thinking"
    assert "anthropic-beta" not in headers


# ------------------------------------------------------------------------------ Bedrock


def test_bedrock_answer_round_trips_its_thinking_into_the_next_turn() -> None:
    data = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"reasoningContent": {"reasoningText": {"text": "Hm.", "signature": "sig-b"}}},
                    {"reasoningContent": {"redactedContent": "UkVEQUNURUQ="}},
                    {"toolUse": {"toolUseId": "toolu_1", "name": "f", "input": {}}},
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 1, "outputTokens": 1},
    }
    message = bedrock.from_provider_response(data, on_bedrock.TARGET)["choices"][0]["message"]
    assert message["reasoning_details"] == [
        text_detail(0, text="Hm.", signature="sig-b"),
        {"type": "reasoning.encrypted", "data": "UkVEQUNURUQ=", "format": FORMAT, "index": 1},
    ]

    body = on_bedrock.translate(messages=conversation(message))
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"reasoningContent": {"reasoningText": {"text": "Hm.", "signature": "sig-b"}}},
            {"reasoningContent": {"redactedContent": "UkVEQUNURUQ="}},
            {"toolUse": {"toolUseId": "toolu_1", "name": "f", "input": {}}},
        ],
    }


def test_bedrock_stream_redacted_reasoning_is_an_encrypted_detail() -> None:
    translator = bedrock.StreamTranslator(on_bedrock.TARGET)
    redacted = {"contentBlockIndex": 3, "delta": {"reasoningContent": {"redactedContent": "QQ=="}}}
    chunks = translator.feed("contentBlockDelta", redacted)
    assert chunks[-1]["choices"][0]["delta"] == {
        "reasoning_details": [
            {"type": "reasoning.encrypted", "data": "QQ==", "format": FORMAT, "index": 0}
        ]
    }


def test_betas_ride_in_bedrocks_model_fields_for_claude_only() -> None:
    raw = {"model": "bedrock/claude", "messages": [{"role": "user", "content": "x"}]}
    request = replace(on_bedrock.chat(**raw), anthropic_beta=("context-1m",))
    body = bedrock.to_provider_request(request, on_bedrock.TARGET)
    assert body["additionalModelRequestFields"] == {"anthropic_beta": ["context-1m"]}
    assert "additionalModelRequestFields" not in bedrock.to_provider_request(
        request, on_bedrock.NOVA
    )


# ------------------------------------------------------------------------------ OpenAI


def test_openai_compatible_providers_never_see_answer_only_fields() -> None:
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [CALL],
        "reasoning": "Hm.",
        "reasoning_details": [text_detail(0, text="Hm.", signature="s")],
    }
    raw = {"model": "m", "messages": conversation(assistant)}
    body = openai_request(claude.chat(**raw), "gpt")
    assert body["messages"][1] == {"role": "assistant", "content": None, "tool_calls": [CALL]}
    assert raw["messages"][1]["reasoning"] == "Hm."  # the client's body is left as it was

    plain = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    assert openai_request(claude.chat(**plain), "gpt")["messages"] is plain["messages"]


# ------------------------------------------------------------------------ tool results


SCREENSHOT = [
    {"type": "text", "text": "the page", "cache_control": {"type": "ephemeral"}},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
]


def test_tools_may_answer_with_images_on_claude() -> None:
    assistant = {"role": "assistant", "content": None, "tool_calls": [CALL]}
    messages = [*conversation(assistant)[:2], {**conversation(assistant)[2], "content": SCREENSHOT}]

    (result,) = claude.translate(messages=messages)["messages"][2]["content"]
    assert result["content"] == [
        {"type": "text", "text": "the page", "cache_control": {"type": "ephemeral"}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
    ]
    (result,) = on_bedrock.translate(messages=messages)["messages"][2]["content"]
    assert result["toolResult"]["content"] == [
        {"text": "the page"},
        {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
    ]
