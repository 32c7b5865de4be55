"""A chat completion in, a Responses `Response` out: golden cases, checked by the SDK's types."""

from __future__ import annotations

from typing import Any

from openai.types.responses import Response

from onerouter.doors.responses import answer, reasoning

RID = "resp_gen-0123456789abcdef"
BODY = {"model": "test/chat", "input": "hi", "instructions": "Be brief."}


def _completion(message: dict[str, Any], finish: str = "stop", **usage: Any) -> dict[str, Any]:
    return {
        "id": "gen-0123456789abcdef",
        "object": "chat.completion",
        "created": 1764000000,
        "model": "test/chat",
        "provider": "primary",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "total_tokens": 17,
            "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 3},
            **usage,
        },
    }


def _valid(response: dict[str, Any]) -> Response:
    return Response.model_validate(response)


def test_text_answer() -> None:
    response = answer.from_chat_completion(_completion({"content": "Hello."}), RID, BODY)
    assert response == {
        "id": RID,
        "object": "response",
        "created_at": 1764000000,
        "status": "completed",
        "model": "test/chat",
        "output": [
            {
                "id": "msg_gen-0123456789abcdef",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Hello.", "annotations": [], "logprobs": []}
                ],
            }
        ],
        "error": None,
        "incomplete_details": None,
        "instructions": "Be brief.",
        "metadata": {},
        "max_output_tokens": None,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": None,
        "store": False,
        "temperature": None,
        "top_p": None,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "truncation": "disabled",
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 3},
            "total_tokens": 17,
        },
        "user": None,
        "provider": "primary",
    }
    assert _valid(response).output_text == "Hello."


def test_reasoning_and_function_calls() -> None:
    details = [{"type": "reasoning.text", "text": "hm", "signature": "s", "index": 0}]
    message = {
        "content": None,
        "reasoning": "Need the weather.",
        "reasoning_details": details,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "t", "arguments": '{"a":1}'}},
        ],
    }
    body = {**BODY, "tools": [{"type": "function", "name": "w", "parameters": {}}]}
    response = answer.from_chat_completion(_completion(message, "tool_calls"), RID, body)
    rs, fc1, fc2 = response["output"]
    assert rs == {
        "id": "rs_gen-0123456789abcdef",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Need the weather."}],
        "encrypted_content": reasoning.encode(details),
    }
    assert reasoning.decode(rs["encrypted_content"]) == details
    assert fc1 == {
        "id": "fc_gen-0123456789abcdef_0",
        "type": "function_call",
        "call_id": "call_1",
        "name": "w",
        "arguments": "{}",
        "status": "completed",
    }
    assert (fc2["id"], fc2["call_id"], fc2["arguments"]) == (
        "fc_gen-0123456789abcdef_1",
        "call_2",
        '{"a":1}',
    )
    assert response["status"] == "completed"
    valid = _valid(response)
    assert valid.output_text == ""
    assert valid.tools[0].type == "function"


def test_cut_short_by_length_is_incomplete() -> None:
    response = answer.from_chat_completion(_completion({"content": "Hel"}, "length"), RID, BODY)
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    _valid(response)


def test_refusal_and_cost_ride_along() -> None:
    completion = _completion(
        {"content": None, "refusal": "I can't help with that."},
        cost=0.000022,
        cost_details={"prompt_cost": 0.000012},
    )
    completion["cost"] = 0.000022
    response = answer.from_chat_completion(completion, RID, BODY)
    assert response["output"][0]["content"] == [
        {"type": "refusal", "refusal": "I can't help with that."}
    ]
    assert response["usage"]["cost"] == response["cost"] == 0.000022
    assert response["usage"]["cost_details"] == {"prompt_cost": 0.000012}
    _valid(response)


def test_the_request_is_echoed() -> None:
    body = {
        **BODY,
        "metadata": {"k": "v"},
        "max_output_tokens": 9,
        "parallel_tool_calls": False,
        "reasoning": {"effort": "low"},
        "temperature": 0.1,
        "text": {"format": {"type": "json_object"}},
        "tool_choice": "none",
        "user": "u",
    }
    response = answer.from_chat_completion(_completion({"content": "{}"}), RID, body)
    valid = _valid(response)
    assert valid.metadata == {"k": "v"} and valid.max_output_tokens == 9
    assert valid.parallel_tool_calls is False and valid.tool_choice == "none"
    assert valid.reasoning is not None and valid.reasoning.effort == "low"
    assert valid.text is not None and valid.text.format is not None
    assert valid.text.format.type == "json_object"
    assert (valid.temperature, valid.user) == (0.1, "u")


def test_no_usage_is_null_usage() -> None:
    completion = _completion({"content": "x"})
    del completion["usage"]
    assert answer.from_chat_completion(completion, RID, BODY)["usage"] is None
