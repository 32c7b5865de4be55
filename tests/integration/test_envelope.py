"""KMS envelope encryption of stored provider keys, against moto server's KMS: what seals
opens again, and only under the same account and provider, and only untampered."""

from __future__ import annotations

import dataclasses

import pytest

from onerouter.accounts.envelope import Envelope, EnvelopeError, KmsKeyMissing, Sealed
from onerouter.dev.aws import LocalAWS
from onerouter.settings import Settings

SECRET = b"sk-test-0123456789abcdef"
CONTEXT = {"account_id": "acct_1", "provider": "openai"}


@pytest.fixture
def envelope(settings: Settings) -> Envelope:
    assert settings.kms_key_id, "provisioning set no ONEROUTER_KMS_KEY_ID"
    return Envelope(settings.kms_key_id)


def test_what_is_sealed_opens_again(envelope: Envelope) -> None:
    sealed = envelope.seal(SECRET, CONTEXT)
    assert SECRET not in sealed.ciphertext and SECRET not in sealed.data_key
    assert len(sealed.nonce) == 12
    assert envelope.open(sealed, dict(CONTEXT)) == SECRET


def test_each_seal_has_its_own_data_key_and_nonce(envelope: Envelope) -> None:
    first, second = envelope.seal(SECRET, CONTEXT), envelope.seal(SECRET, CONTEXT)
    assert first.data_key != second.data_key
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


@pytest.mark.parametrize(
    "context",
    [
        {"account_id": "acct_2", "provider": "openai"},
        {"account_id": "acct_1", "provider": "anthropic"},
        {"account_id": "acct_1"},
        {},
    ],
)
def test_another_context_does_not_open(envelope: Envelope, context: dict[str, str]) -> None:
    sealed = envelope.seal(SECRET, CONTEXT)
    with pytest.raises(EnvelopeError) as raised:
        envelope.open(sealed, context)
    assert "sk-test" not in str(raised.value)


def _flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "data_key"])
def test_a_tampered_seal_does_not_open(envelope: Envelope, field: str) -> None:
    sealed = envelope.seal(SECRET, CONTEXT)
    value = getattr(sealed, field)
    tampered = dataclasses.replace(sealed, **{field: _flip(value, len(value) // 2)})
    with pytest.raises(EnvelopeError):
        envelope.open(tampered, CONTEXT)


def test_a_seal_moved_to_another_context_does_not_open_even_with_its_data_key(
    envelope: Envelope,
) -> None:
    """The GCM associated data binds the context too: a data key sealed for B, used to open
    A's ciphertext, fails on the tag."""
    a = envelope.seal(SECRET, CONTEXT)
    other = {"account_id": "acct_2", "provider": "openai"}
    b = envelope.seal(b"another", other)
    mixed = Sealed(a.ciphertext, a.nonce, b.data_key)
    with pytest.raises(EnvelopeError):
        envelope.open(mixed, other)


def test_without_a_kms_key_nothing_is_sealed(aws: LocalAWS) -> None:
    with pytest.raises(KmsKeyMissing, match="ONEROUTER_KMS_KEY_ID"):
        Envelope(None).seal(SECRET, CONTEXT)


def test_the_sealed_record_repr_shows_no_bytes(envelope: Envelope) -> None:
    sealed = envelope.seal(SECRET, CONTEXT)
    assert repr(sealed) == "Sealed()"
