"""Authentication on the hot path: hashed look-up, short in-memory cache, shared misses."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pytest

from onerouter.accounts.auth import Authenticator, Principal
from onerouter.accounts.service import AccountService
from onerouter.errors import AuthenticationFailed, InsufficientCredits, PermissionDenied
from onerouter.settings import Settings
from onerouter.store.accounts import AccountsRepository
from onerouter.store.keys import KeysRepository
from onerouter.store.ledger import LedgerRepository


class CountingKeys(KeysRepository):
    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.lookups = 0

    def get(self, key_hash: str):  # type: ignore[no-untyped-def]
        self.lookups += 1
        return super().get(key_hash)


@pytest.fixture
def parts(settings: Settings) -> tuple[CountingKeys, AccountService]:
    keys = CountingKeys(settings.tables.keys)
    accounts = AccountsRepository(settings.tables.accounts)
    return keys, AccountService(accounts, keys, LedgerRepository(settings.tables.ledger, accounts))


def test_cached_key_needs_no_storage_round_trip(parts) -> None:
    keys, service = parts
    opened = service.open_account(Decimal(2))
    auth = Authenticator(keys, service.accounts, ttl=60)

    async def twice() -> None:
        first = await auth.authenticate(f"Bearer {opened.key}")
        second = await auth.authenticate(f"Bearer {opened.key}")
        assert first.account_id == second.account_id == opened.account_id

    asyncio.run(twice())
    assert keys.lookups == 1


def test_concurrent_misses_share_one_lookup(parts) -> None:
    keys, service = parts
    opened = service.open_account(Decimal(2))
    auth = Authenticator(keys, service.accounts, ttl=60)

    async def many() -> None:
        results = await asyncio.gather(
            *(auth.authenticate(f"Bearer {opened.key}") for _ in range(20))
        )
        assert {p.account_id for p in results} == {opened.account_id}

    asyncio.run(many())
    assert keys.lookups == 1


def test_unknown_key_is_rejected_and_remembered(parts) -> None:
    keys, service = parts
    auth = Authenticator(keys, service.accounts, ttl=60)

    async def reject() -> None:
        for _ in range(3):
            with pytest.raises(AuthenticationFailed):
                await auth.authenticate("Bearer sk-or1-not-a-real-key-at-all")

    asyncio.run(reject())
    assert keys.lookups == 1


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic abc", "sk-or1-raw"])
def test_missing_or_malformed_header_is_401(parts, header: str | None) -> None:
    keys, service = parts
    auth = Authenticator(keys, service.accounts)
    with pytest.raises(AuthenticationFailed):
        asyncio.run(auth.authenticate(header))
    assert keys.lookups == 0


def test_spending_checks(parts) -> None:
    keys, service = parts
    auth = Authenticator(keys, service.accounts, ttl=0)
    broke = service.open_account(Decimal(0))
    principal = asyncio.run(auth.authenticate(f"Bearer {broke.key}"))
    with pytest.raises(InsufficientCredits):
        principal.check_can_spend()

    service.grant(broke.account_id, Decimal(1))
    asyncio.run(auth.authenticate(f"Bearer {broke.key}")).check_can_spend()

    funded = asyncio.run(auth.authenticate(f"Bearer {broke.key}"))
    disabled = Principal(dataclasses.replace(funded.key, disabled=True), funded.account)
    with pytest.raises(PermissionDenied, match="disabled"):
        disabled.check_can_spend()
    spent = dataclasses.replace(funded.key, limit=Decimal(1), usage=Decimal(1))
    with pytest.raises(PermissionDenied, match="limit"):
        Principal(spent, funded.account).check_can_spend()
