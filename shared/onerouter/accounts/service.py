"""Opening accounts and granting credit: the operations the operator API and the dev runner use."""

from __future__ import annotations

import secrets as _random
from dataclasses import dataclass
from decimal import Decimal

from ..store.accounts import AccountsRepository
from ..store.keys import KeysRepository
from ..store.ledger import LedgerRepository
from ..store.records import Account, ApiKey, LedgerEntry, utcnow
from .secrets import hash_secret, hint, new_secret


@dataclass(frozen=True)
class NewAccount:
    account_id: str
    key_id: str
    key: str  # the secret, shown once


class AccountService:
    def __init__(
        self, accounts: AccountsRepository, keys: KeysRepository, ledger: LedgerRepository
    ) -> None:
        self.accounts = accounts
        self.keys = keys
        self.ledger = ledger

    def open_account(
        self,
        credits: Decimal = Decimal(0),
        *,
        account_id: str | None = None,
        label: str = "default",
        data_collection: str = "deny",
    ) -> NewAccount:
        """Creates an account, its first key and its opening credit in one transaction."""
        now = utcnow()
        account_id = account_id or "acct_" + _random.token_hex(8)
        account = Account(account_id, credits, credits, now, data_collection)
        key, secret = self._new_key(account_id, label, now)
        items = [self.accounts.put_item(account), self.keys.put_item(key)]
        if credits:
            entry = LedgerEntry(account_id, "grant#opening", "grant", credits, now, "opening")
            items.append(self.ledger.put_item(entry))
        self.accounts.dynamodb.transact_write_items(TransactItems=items)
        return NewAccount(account_id, key.key_id, secret)

    def issue_key(self, account_id: str, label: str = "default") -> tuple[ApiKey, str]:
        key, secret = self._new_key(account_id, label, utcnow())
        self.keys.create(key)
        return key, secret

    def grant(
        self,
        account_id: str,
        amount: Decimal,
        *,
        grant_id: str | None = None,
        note: str | None = None,
    ) -> bool:
        """Adds credit; a repeated `grant_id` changes nothing and answers False."""
        entry_id = "grant#" + (grant_id or _random.token_hex(12))
        entry = LedgerEntry(account_id, entry_id, "grant", amount, utcnow(), note)
        return self.ledger.credit(entry)

    @staticmethod
    def _new_key(account_id: str, label: str, now: str) -> tuple[ApiKey, str]:
        secret = new_secret()
        key = ApiKey(
            key_hash=hash_secret(secret),
            key_id="key_" + _random.token_hex(8),
            account_id=account_id,
            label=label,
            hint=hint(secret),
            created_at=now,
        )
        return key, secret
