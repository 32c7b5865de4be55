"""KMS envelope encryption, for the provider keys accounts store (BYOK).

Each write asks KMS for a fresh AES-256 data key (GenerateDataKey), seals the secret with it
(AES-256-GCM, random 12-byte nonce) and keeps only the ciphertext, the nonce and the data key
as KMS encrypted it. Reading asks KMS to decrypt that data key. So the table alone never
reveals a secret, KMS sees only 32-byte data keys (never the secret), and every decryption is
an auditable, IAM-checked KMS call.

The encryption context (account and provider) is bound twice: KMS refuses to decrypt a data
key under another context, and the same context, canonically encoded, is the GCM associated
data, so a sealed item copied to another account or provider does not open.

botocore directly, as in `store/dynamo.py`: the endpoint comes from AWS_ENDPOINT_URL, so the
same code talks to moto server locally and to KMS on AWS.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


class EnvelopeError(Exception):
    """A secret could not be sealed or opened. Its message never holds the secret."""


class KmsKeyMissing(EnvelopeError):
    """No KMS key is configured (ONEROUTER_KMS_KEY_ID), so nothing can be sealed."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """What is stored: nothing here is usable without a KMS Decrypt call."""

    ciphertext: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    # The data key as KMS encrypted it (GenerateDataKey's CiphertextBlob).
    data_key: bytes = field(repr=False)


@functools.cache
def client() -> Any:
    # One client per process, as for DynamoDB: thread-safe and pooled.
    return botocore.session.get_session().create_client(
        "kms",
        config=Config(
            max_pool_connections=32,
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
        ),
    )


def associated_data(context: Mapping[str, str]) -> bytes:
    """The encryption context as GCM associated data: canonical, so equal contexts agree."""
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode("utf-8")


class Envelope:
    """Seals and opens secrets under one KMS key (`key_id`: an id, ARN or alias).

    Without a key, `seal` refuses; `open` still works, as KMS finds the key that encrypted
    a data key from the data key itself."""

    def __init__(self, key_id: str | None, kms: Any = None) -> None:
        self.key_id = key_id
        self._kms = kms

    @property
    def kms(self) -> Any:
        return self._kms or client()

    @property
    def configured(self) -> bool:
        return bool(self.key_id)

    def seal(self, plaintext: bytes, context: Mapping[str, str]) -> Sealed:
        if not self.key_id:
            raise KmsKeyMissing("stored provider keys need ONEROUTER_KMS_KEY_ID")
        try:
            issued = self.kms.generate_data_key(
                KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=dict(context)
            )
        except (ClientError, BotoCoreError) as exc:
            raise EnvelopeError(f"KMS GenerateDataKey failed ({_code(exc)})") from None
        nonce = os.urandom(_NONCE)
        aead = AESGCM(issued.pop("Plaintext"))  # the plaintext data key lives only in `aead`
        ciphertext = aead.encrypt(nonce, plaintext, associated_data(context))
        del aead
        return Sealed(ciphertext, nonce, issued["CiphertextBlob"])

    def open(self, sealed: Sealed, context: Mapping[str, str]) -> bytes:
        try:
            answer = self.kms.decrypt(
                CiphertextBlob=sealed.data_key, EncryptionContext=dict(context)
            )
        except (ClientError, BotoCoreError) as exc:
            raise EnvelopeError(f"KMS Decrypt failed ({_code(exc)})") from None
        aead = AESGCM(answer.pop("Plaintext"))
        try:
            return aead.decrypt(sealed.nonce, sealed.ciphertext, associated_data(context))
        except (InvalidTag, ValueError):
            raise EnvelopeError("the sealed secret does not authenticate") from None
        finally:
            del aead


def _code(exc: Exception) -> str:
    # The error code only: KMS messages name keys and ARNs, nothing secret, but keep it short.
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
