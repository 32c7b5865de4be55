"""Provider keys an account stores for itself (bring your own key): saving, listing, deleting,
and the hot-path read that hands routing the decrypted keys.

The hot path pays nothing for accounts without stored keys: the account record it already
holds lists the providers with one (`Account.byok_providers`), and an empty set answers at
once. Otherwise the account's keys are read and decrypted once (DynamoDB query, one KMS
Decrypt each, off the event loop), shared by concurrent requests, and kept in memory for a
short TTL; a change of `byok_providers` (a key stored or deleted elsewhere, seen when the
account record is re-read) starts a fresh load before the TTL runs out.

Keys are never logged, never put in error messages, and left out of every repr.
"""

from __future__ import annotations

import builtins
import itertools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import NoProviderAvailable, NotFound
from ..store.provider_keys import ProviderKeysRepository, StoredKey
from ..store.records import Account, utcnow
from .envelope import Envelope, EnvelopeError, KmsKeyMissing, Sealed
from .single_flight import SingleFlight

logger = logging.getLogger("onerouter.accounts")

NOT_CONFIGURED = "Stored provider keys need ONEROUTER_KMS_KEY_ID: this gateway has no KMS key."
# "sk-", "sk-ant-", "sk-proj-", "gsk_", "xai-": enough to tell which kind of key it is.
_PREFIX = re.compile(r"[A-Za-z]{2,4}(?:[-_][A-Za-z]{2,4})?[-_]")
_SHORT = 16
_TINY = 8
_EMPTY: Mapping[str, StoredCredential] = MappingProxyType({})


def hint(api_key: str) -> str:
    """What may be shown of a stored key: its kind of prefix, if any, and its last 4
    characters; of a short key only its last 2, of a very short one nothing."""
    if len(api_key) < _TINY:
        return "…"
    if len(api_key) < _SHORT:
        return "…" + api_key[-2:]
    prefix = _PREFIX.match(api_key)
    return f"{prefix.group(0) if prefix else ''}…{api_key[-4:]}"


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """A decrypted key, for routing: use `api_key` for `provider`; with `fallback`, the
    shared keys may serve when it fails."""

    provider: str
    api_key: str = field(repr=False)
    fallback: bool


@dataclass(frozen=True, slots=True)
class StoredKeyView:
    """What an account sees of a stored key: never the key."""

    provider: str
    hint: str
    fallback: bool
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, key: StoredKey) -> StoredKeyView:
        return cls(key.provider, key.hint, key.fallback, key.created_at, key.updated_at)

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "hint": self.hint,
            "fallback": self.fallback,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class _Entry:
    expires_at: float
    providers: frozenset[str]
    credentials: Mapping[str, StoredCredential]


def _context(account_id: str, provider: str) -> dict[str, str]:
    return {"account_id": account_id, "provider": provider}


class ProviderKeys:
    """The vault of stored provider keys. `providers`: the catalog's provider ids, the only
    ones a key may be stored for. `save`, `list` and `delete` block (call them off the event
    loop); `credentials` is the hot path's async read."""

    def __init__(
        self,
        repository: ProviderKeysRepository,
        envelope: Envelope,
        providers: Collection[str],
        ttl: float = 60.0,
        max_entries: int = 10_000,
    ) -> None:
        self.repository = repository
        self.envelope = envelope
        self.providers = frozenset(providers)
        self._ttl = ttl
        self._max = max_entries
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._flights: SingleFlight[tuple[str, frozenset[str]], _Entry] = SingleFlight()
        # Bumped by `forget` (which save and delete call from worker threads: `next` is
        # atomic): a load that started before it must not refill the cache.
        self._generations = itertools.count(1)
        self._generation = 0

    # ------------------------------------------------------------ management (blocking)

    def save(
        self, account_id: str, provider: str, api_key: str, fallback: bool = True
    ) -> StoredKeyView:
        """Seals and stores the account's key for `provider`, replacing any it had."""
        if provider not in self.providers:
            raise NotFound(
                f"No provider {provider!r} in this gateway's catalog; GET /api/v1/models "
                "lists the models and the providers that serve them.",
                param="provider",
                code="provider_not_found",
            )
        try:
            sealed = self.envelope.seal(api_key.encode("utf-8"), _context(account_id, provider))
        except KmsKeyMissing:
            raise NoProviderAvailable(NOT_CONFIGURED, code="provider_keys_not_configured") from None
        except EnvelopeError as exc:
            logger.error("sealing a provider key failed: %s", exc)
            raise NoProviderAvailable(
                "Could not encrypt the key right now; try again shortly.",
                code="provider_keys_unavailable",
            ) from None
        now = utcnow()
        stored = self.repository.put(
            StoredKey(
                account_id=account_id,
                provider=provider,
                ciphertext=sealed.ciphertext,
                nonce=sealed.nonce,
                data_key=sealed.data_key,
                hint=hint(api_key),
                fallback=fallback,
                created_at=now,
                updated_at=now,
            )
        )
        if stored is None:
            raise NotFound("No such account.", code="account_not_found")
        self.forget(account_id)
        return StoredKeyView.of(stored)

    def list(self, account_id: str) -> builtins.list[StoredKeyView]:
        """The account's stored keys, masked, by provider."""
        keys = self.repository.of_account(account_id)
        return [StoredKeyView.of(key) for key in sorted(keys, key=lambda k: k.provider)]

    def delete(self, account_id: str, provider: str) -> bool:
        """Deletes the account's key for `provider`; False if it had none."""
        deleted = self.repository.delete(account_id, provider)
        self.forget(account_id)
        return deleted

    # ------------------------------------------------------------ the hot path

    async def credentials(self, account: Account) -> Mapping[str, StoredCredential]:
        """The account's stored keys by provider, decrypted. No I/O at all when the account
        record lists none; else from memory while fresh.

        Raises NoProviderAvailable (503, code `provider_keys_unavailable`) when the stored
        keys cannot be read or decrypted: routing must not quietly use shared keys instead
        of the account's own."""
        wanted = account.byok_providers
        if not wanted:
            return _EMPTY
        entry = self._cache.get(account.account_id)
        fresh = entry is not None and entry.expires_at > time.monotonic()
        if entry is not None and fresh and entry.providers == wanted:
            return entry.credentials
        return (await self._load_once(account.account_id, wanted)).credentials

    def forget(self, account_id: str | None = None) -> None:
        """Drops cached keys (all, or one account's): the next read decrypts afresh."""
        self._generation = next(self._generations)
        if account_id is None:
            self._cache.clear()
        else:
            self._cache.pop(account_id, None)

    async def _load_once(self, account_id: str, wanted: frozenset[str]) -> _Entry:
        generation = self._generation
        entry = await self._flights.run(
            (account_id, wanted), lambda: self._load(account_id, wanted)
        )
        if generation == self._generation:
            self._remember(account_id, entry)
        return entry

    def _load(self, account_id: str, wanted: frozenset[str]) -> _Entry:
        try:
            keys = self.repository.of_account(account_id)
            credentials = {key.provider: self._open(key) for key in keys}
        except Exception as exc:
            # The exception's type only: nothing of a key reaches the log.
            logger.error(
                "reading stored provider keys failed (account %s): %s",
                account_id,
                type(exc).__name__,
            )
            raise NoProviderAvailable(
                "This account's stored provider keys cannot be read right now; try again soon.",
                code="provider_keys_unavailable",
                headers={"retry-after": "5"},
            ) from None
        return _Entry(time.monotonic() + self._ttl, wanted, MappingProxyType(credentials))

    def _open(self, key: StoredKey) -> StoredCredential:
        sealed = Sealed(key.ciphertext, key.nonce, key.data_key)
        secret = self.envelope.open(sealed, _context(key.account_id, key.provider))
        return StoredCredential(key.provider, secret.decode("utf-8"), key.fallback)

    def _remember(self, account_id: str, entry: _Entry) -> None:
        self._cache[account_id] = entry
        self._cache.move_to_end(account_id)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
