"""API key secrets: recognisable, unguessable, stored only as SHA-256, hinted at sparingly."""

from __future__ import annotations

import hashlib
import re

import pytest

from onerouter.accounts.secrets import PREFIX, hash_secret, hint, looks_like_key, new_secret

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def test_secret_has_the_prefix_and_a_long_url_safe_body() -> None:
    secret = new_secret()

    assert PREFIX == "sk-or1-"
    assert secret.startswith(PREFIX)
    body = secret[len(PREFIX) :]
    assert URL_SAFE.fullmatch(body)
    assert len(body) >= 43, "at least 256 bits of randomness"
    assert looks_like_key(secret)


def test_secrets_are_unique() -> None:
    secrets = {new_secret() for _ in range(1000)}

    assert len(secrets) == 1000


def test_hash_is_sha256_hex() -> None:
    secret = new_secret()

    hashed = hash_secret(secret)

    assert hashed == hashlib.sha256(secret.encode("utf-8")).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", hashed)
    assert hash_secret(secret) == hashed
    assert hash_secret(secret + "x") != hashed
    assert secret[len(PREFIX) :] not in hashed


def test_hash_of_a_known_value() -> None:
    assert hash_secret("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_hint_reveals_at_most_seven_characters_of_the_secret_part() -> None:
    secret = new_secret()
    body = secret[len(PREFIX) :]

    shown = hint(secret)

    assert shown.startswith(PREFIX)
    head, _, tail = shown[len(PREFIX) :].partition("...")
    assert len(head) + len(tail) <= 7
    assert body.startswith(head)
    assert body.endswith(tail)
    assert body not in shown


def test_hints_tell_keys_apart() -> None:
    assert hint("sk-or1-" + "a" * 48) != hint("sk-or1-" + "b" * 48)


@pytest.mark.parametrize(
    "value",
    ["", "sk-or1-", "sk-or1-short", "sk-proj-" + "a" * 40, "Bearer sk-or1-" + "a" * 40],
)
def test_values_that_do_not_look_like_keys(value: str) -> None:
    assert not looks_like_key(value)


def test_absurdly_long_value_does_not_look_like_a_key() -> None:
    assert not looks_like_key(PREFIX + "a" * 500)
