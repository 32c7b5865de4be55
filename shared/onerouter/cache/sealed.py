"""Cache entries sealed with AES-256-GCM under the request's own key.

A sealed blob is `version (1 byte) · nonce (12 bytes, random) · ciphertext · tag (16 bytes)`.
The associated data is the version and the entry's lookup id, so a blob copied under another
id, or read with another key, does not authenticate. The plaintext starts with one byte saying
whether the rest is zlib-compressed; that byte is encrypted too.

Compression pays: JSON chat answers shrink to about half (prose answers of 2 to 13 KB to
50 %, code to 35 to 40 %) for 25 to 150 µs at zlib level 1; level 6 saves only 3 or 4 points
more at twice the time. DynamoDB bills writes per KB and reads per 4 KB, so payloads under
1 KB, which round to one unit anyway, are not compressed, nor are payloads that do not shrink.
Sealing a 2 KB answer takes ~35 µs, unsealing ~12 µs.
"""

from __future__ import annotations

import os
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .key import CacheKey

VERSION = 1
# A DynamoDB item is at most 400 KB, the id, expiry and attribute names included.
MAX_SEALED = 380_000

_NONCE = 12
_TAG = 16
_RAW, _ZLIB = b"\x00", b"\x01"
_COMPRESS_FROM = 1024
_LEVEL = 1


def seal(key: CacheKey, payload: bytes) -> bytes:
    plain = _RAW + payload
    if len(payload) >= _COMPRESS_FROM:
        packed = zlib.compress(payload, _LEVEL)
        if len(packed) < len(payload):
            plain = _ZLIB + packed
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(key.secret).encrypt(nonce, plain, _associated(key))
    return bytes((VERSION,)) + nonce + sealed


def unseal(key: CacheKey, blob: bytes) -> bytes | None:
    """The payload, or None for a blob that does not authenticate under `key`."""
    if len(blob) < 1 + _NONCE + _TAG + 1 or blob[0] != VERSION:
        return None
    try:
        plain = AESGCM(key.secret).decrypt(
            blob[1 : 1 + _NONCE], blob[1 + _NONCE :], _associated(key)
        )
    except (InvalidTag, ValueError):
        return None
    if plain[:1] == _RAW:
        return plain[1:]
    if plain[:1] == _ZLIB:
        try:
            return zlib.decompress(plain[1:])
        except zlib.error:
            return None
    return None


def fits(blob: bytes) -> bool:
    """Whether a sealed blob is small enough to store as one DynamoDB item."""
    return len(blob) <= MAX_SEALED


def _associated(key: CacheKey) -> bytes:
    return bytes((VERSION,)) + key.lookup.encode()
