"""What may be shown of a stored provider key: its kind, and never more than 4 characters."""

from __future__ import annotations

import pytest

from onerouter.accounts.provider_keys import StoredCredential, hint


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("sk-proj-abcdefghijklmnopqrstuvwxyza1b2", "sk-proj-…a1b2"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz9f8e", "sk-ant-…9f8e"),
        ("sk-abcdefghijklmnopqrstuvwxyz1234", "sk-…1234"),
        ("gsk_abcdefghijklmnopqrstuvwxyz5678", "gsk_…5678"),
        ("AIzaSyAbcdefghijklmnopqrstuvwxyz0000", "…0000"),
        ("0123456789abcdef", "…cdef"),
        ("short-key-42", "…42"),
        ("tiny", "…"),
        ("x", "…"),
    ],
)
def test_the_hint(key: str, shown: str) -> None:
    assert hint(key) == shown


def test_the_hint_never_holds_more_than_four_trailing_characters() -> None:
    key = "sk-" + "q" * 40 + "wxyz"
    masked = hint(key)
    assert masked.endswith("…wxyz")
    assert "q" not in masked


def test_a_credential_repr_leaves_the_key_out() -> None:
    credential = StoredCredential("openai", "sk-secret-value-123", fallback=True)
    assert "sk-secret" not in repr(credential)
    assert repr(credential) == "StoredCredential(provider='openai', fallback=True)"
