"""Recognising an API key on the hot path.

A key and its account's balance are served from memory for a few seconds, so most requests
do no storage round trip. Misses run the (blocking) boto3 calls off the event loop, and
concurrent misses for one key share a single look-up.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from ..errors import AuthenticationFailed, InsufficientCredits, PermissionDenied
from ..store.accounts import AccountsRepository
from ..store.keys import KeysRepository
from ..store.records import Account, ApiKey
from .secrets import hash_secret
from .single_flight import SingleFlight


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key used and the account it spends from."""

    key: ApiKey
    account: Account

    @property
    def account_id(self) -> str:
        return self.account.account_id

    def check_can_spend(self) -> None:
        """Every front door asks this before a request may cost anything."""
        self.check_key()
        self.check_balance()

    def check_key(self) -> None:
        """The key may make requests: not a management key, enabled, within its limit."""
        if self.key.management:
            raise PermissionDenied(
                "This is a management key: it manages this account's API keys "
                "(/api/v1/keys) and cannot be used for completions; use a regular API key.",
                code="management_key",
            )
        if self.key.disabled:
            raise PermissionDenied("This API key is disabled.", code="key_disabled")
        if self.key.limit is not None and self.key.usage >= self.key.limit:
            raise PermissionDenied(
                "This API key has reached its spending limit.", code="key_limit_exceeded"
            )

    def check_balance(self) -> None:
        """The account has credit left (a request served only with the caller's own provider
        key costs nothing, and needs none)."""
        if self.account.balance <= Decimal(0):
            raise InsufficientCredits(
                "This account has no credit left; add credits to continue.",
            )

    def check_can_manage_keys(self) -> None:
        """What /api/v1/keys asks: a management key, enabled. Credit does not matter."""
        if not self.key.management:
            raise PermissionDenied(
                "Managing API keys needs a management key; this is a regular API key. "
                "The operator issues management keys (POST /api/v1/admin/accounts/{id}/keys).",
                code="not_a_management_key",
            )
        if self.key.disabled:
            raise PermissionDenied("This API key is disabled.", code="key_disabled")


@dataclass(frozen=True, slots=True)
class Person:
    """A dashboard user: their Cognito `sub` and email."""

    sub: str
    email: str


@dataclass(frozen=True, slots=True)
class Caller:
    account: Account
    key: ApiKey | None = None  # the API key used; None for a person
    person: Person | None = None  # the signed-in person; None for an API key

    @property
    def account_id(self) -> str:
        return self.account.account_id

    def check_can_manage(self) -> None:
        """Keys, settings and purchases: a person, or an enabled management key."""
        if self.person is not None:
            return
        assert self.key is not None
        if not self.key.management:
            raise PermissionDenied(
                "Managing this account needs a management key or the dashboard; this is a "
                "regular API key. The operator issues management keys "
                "(POST /api/v1/admin/accounts/{id}/keys).",
                code="not_a_management_key",
            )
        if self.key.disabled:
            raise PermissionDenied("This API key is disabled.", code="key_disabled")


class Authenticator:
    def __init__(
        self,
        keys: KeysRepository,
        accounts: AccountsRepository,
        ttl: float = 5.0,
        max_entries: int = 10_000,
    ) -> None:
        self._keys = keys
        self._accounts = accounts
        self._ttl = ttl
        self._max = max_entries
        # key hash -> (expires at, principal or None for an unknown key)
        self._cache: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._flights: SingleFlight[str, Principal | None] = SingleFlight()

    async def authenticate(self, authorization: str | None) -> Principal:
        secret = _bearer(authorization)
        if not secret:
            raise AuthenticationFailed(
                "Missing API key: send it as 'Authorization: Bearer <key>'.",
                code="missing_api_key",
            )
        key_hash = hash_secret(secret)
        now = time.monotonic()
        hit = self._cache.get(key_hash)
        if hit is not None and hit[0] > now:
            principal = hit[1]
        else:
            principal = await self._load_once(key_hash)
        if principal is None:
            raise AuthenticationFailed("Invalid API key.")
        return principal

    def forget(self, account_id: str | None = None) -> None:
        """Drops cached principals (all, or one account's) so the next request reads storage."""
        if account_id is None:
            self._cache.clear()
            return
        for key_hash, (_, principal) in list(self._cache.items()):
            if principal is not None and principal.account_id == account_id:
                del self._cache[key_hash]

    async def _load_once(self, key_hash: str) -> Principal | None:
        principal = await self._flights.run(key_hash, lambda: self._load(key_hash))
        self._remember(key_hash, principal)
        return principal

    def _load(self, key_hash: str) -> Principal | None:
        key = self._keys.get(key_hash)
        if key is None:
            return None
        account = self._accounts.get(key.account_id)
        return Principal(key, account) if account else None

    def _remember(self, key_hash: str, principal: Principal | None) -> None:
        self._cache[key_hash] = (time.monotonic() + self._ttl, principal)
        self._cache.move_to_end(key_hash)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None
