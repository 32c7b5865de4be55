"""API key secrets: how they look, and the only form in which they are stored (SHA-256)."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "sk-or1-"


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(36)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hint(secret: str) -> str:
    """What the dashboard may show of a key: enough to recognise it, useless to use it."""
    return f"{secret[: len(PREFIX) + 3]}...{secret[-4:]}"


def looks_like_key(value: str) -> bool:
    return value.startswith(PREFIX) and 20 <= len(value) <= 200
