"""Sealed cache entries: only the request's own key, under the entry's own id, opens them, and
nothing of the prompt or the answer shows in what is stored."""

from __future__ import annotations

import os
import random

import orjson
import pytest

from onerouter.cache.key import CacheKey, cache_key
from onerouter.cache.sealed import MAX_SEALED, VERSION, fits, seal, unseal
from onerouter.requests import ChatRequest, GatewayRequest

CANARY = "CANARY-7f3a9c-do-not-store"


def request(content: str = "What is the capital of France?") -> GatewayRequest:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}
    return GatewayRequest("chat", ChatRequest.model_validate(body), body)


def answer(content: str) -> bytes:
    message = {"role": "assistant", "content": content}
    return orjson.dumps(
        {
            "id": "gen-1",
            "object": "chat.completion",
            "model": "openai/gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
        }
    )


KEY = cache_key("acct_1", "openai/gpt-4o", request())
SHORT = answer("Paris.")
LONG = answer("Paris is the capital of France. " * 200)


@pytest.mark.parametrize("payload", [b"", SHORT, LONG, os.urandom(5000)], ids=len)
def test_round_trip(payload: bytes) -> None:
    blob = seal(KEY, payload)
    assert blob[0] == VERSION
    assert unseal(KEY, blob) == payload


def test_each_seal_uses_a_fresh_nonce() -> None:
    first, second = seal(KEY, SHORT), seal(KEY, SHORT)
    assert first != second
    assert unseal(KEY, first) == unseal(KEY, second) == SHORT


def test_compressible_answers_are_stored_compressed() -> None:
    assert len(seal(KEY, LONG)) < len(LONG) // 4


def test_short_or_incompressible_payloads_are_stored_as_they_are() -> None:
    overhead = 1 + 12 + 16 + 1  # version, nonce, tag, compression flag
    assert len(seal(KEY, SHORT)) == len(SHORT) + overhead
    noise = os.urandom(5000)
    assert len(seal(KEY, noise)) == len(noise) + overhead


@pytest.mark.parametrize("payload", [SHORT, LONG], ids=["raw", "compressed"])
def test_any_changed_byte_fails_to_authenticate(payload: bytes) -> None:
    blob = seal(KEY, payload)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        assert unseal(KEY, bytes(tampered)) is None, position


def test_cut_or_extended_blobs_fail() -> None:
    blob = seal(KEY, SHORT)
    assert unseal(KEY, blob[:-1]) is None
    assert unseal(KEY, blob + b"\x00") is None
    assert unseal(KEY, blob[:13]) is None


def test_another_version_fails() -> None:
    blob = seal(KEY, SHORT)
    assert unseal(KEY, bytes((VERSION + 1,)) + blob[1:]) is None


def test_another_requests_key_fails() -> None:
    other = cache_key("acct_1", "openai/gpt-4o", request("What is the capital of Spain?"))
    assert unseal(other, seal(KEY, SHORT)) is None


def test_another_accounts_key_fails() -> None:
    other = cache_key("acct_2", "openai/gpt-4o", request())
    assert unseal(other, seal(KEY, SHORT)) is None


def test_an_entry_moved_to_another_id_fails() -> None:
    moved = CacheKey(lookup="0" * 64, secret=KEY.secret)
    assert unseal(moved, seal(KEY, SHORT)) is None


def test_a_key_of_the_wrong_size_fails_without_raising() -> None:
    assert unseal(CacheKey(lookup=KEY.lookup, secret=b"short"), seal(KEY, SHORT)) is None


@pytest.mark.parametrize("size", [0, 1, 13, 29, 30, 31, 64, 1000])
def test_garbage_never_raises(size: int) -> None:
    rng = random.Random(size)
    for _ in range(20):
        blob = bytes((VERSION,)) + rng.randbytes(size) if size else b""
        assert unseal(KEY, blob) is None


@pytest.mark.parametrize("repeat", [1, 100], ids=["raw", "compressed"])
def test_the_canary_shows_neither_in_the_id_nor_in_the_blob(repeat: int) -> None:
    key = cache_key("acct_1", "openai/gpt-4o", request(f"Please repeat {CANARY}"))
    payload = answer(f"You said {CANARY}. " * repeat)
    blob = seal(key, payload)
    assert unseal(key, blob) == payload
    for shown in (CANARY, CANARY.upper(), CANARY.lower(), CANARY.encode().hex()):
        assert shown.encode() not in blob
        assert shown.lower() not in key.lookup.lower()


def test_fits_below_the_dynamodb_item_limit() -> None:
    assert fits(seal(KEY, LONG))
    assert fits(b"x" * MAX_SEALED)
    assert not fits(b"x" * (MAX_SEALED + 1))
    oversized = seal(KEY, os.urandom(MAX_SEALED))
    assert unseal(KEY, oversized) is not None
    assert not fits(oversized)
