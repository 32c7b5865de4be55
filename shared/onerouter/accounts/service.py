"""Opening accounts, issuing keys and granting credit: what the operator API, the key management
API and the dev runner do."""

from __future__ import annotations

import secrets as _random
from dataclasses import dataclass
from decimal import Decimal

from botocore.exceptions import ClientError

from ..billing.lots import expiry_of
from ..store.accounts import AccountsRepository
from ..store.dynamo import cancellation_codes
from ..store.keys import KeysRepository
from ..store.ledger import LedgerRepository, UnknownAccount
from ..store.records import Account, ApiKey, LedgerEntry, utcnow
from .secrets import hash_secret, hint, new_secret


@dataclass(frozen=True)
class NewAccount:
    account_id: str
    key_id: str
    key: str  # the secret, shown once
    # A management key opened with the account, when asked for (its secret, shown once).
    management_key_id: str | None = None
    management_key: str | None = None


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
        management_key: bool = False,
    ) -> NewAccount:
        """Creates an account, its first key (and, if asked, a management key) and its opening
        credit in one transaction."""
        now = utcnow()
        account_id = account_id or "acct_" + _random.token_hex(8)
        account = Account(account_id, credits, credits, now, data_collection)
        key, secret = self._new_key(account_id, label, now)
        items = [self.accounts.put_item(account), self.keys.put_item(key)]
        manager, manager_secret = None, None
        if management_key:
            manager, manager_secret = self._new_key(account_id, "management", now, management=True)
            items.append(self.keys.put_item(manager))
        if credits:
            entry = LedgerEntry(
                account_id, "grant#opening", "grant", credits, now, "opening", expiry_of(now)
            )
            items.append(self.ledger.put_item(entry))
        self.accounts.dynamodb.transact_write_items(TransactItems=items)
        manager_id = manager.key_id if manager else None
        return NewAccount(account_id, key.key_id, secret, manager_id, manager_secret)

    def issue_key(
        self,
        account_id: str,
        label: str = "default",
        *,
        management: bool = False,
        limit: Decimal | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key of an existing account (else UnknownAccount), and its secret."""
        key, secret = self._new_key(account_id, label, utcnow(), management=management, limit=limit)
        try:
            self.keys.dynamodb.transact_write_items(
                TransactItems=[self.accounts.exists_item(account_id), self.keys.put_item(key)]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                raise UnknownAccount(account_id) from None
            raise
        return key, secret

    def grant(
        self,
        account_id: str,
        amount: Decimal,
        *,
        grant_id: str | None = None,
        note: str | None = None,
    ) -> bool:
        """Adds a lot of credit that expires in a year; a repeated `grant_id` changes nothing
        and answers False."""
        entry_id = "grant#" + (grant_id or _random.token_hex(12))
        now = utcnow()
        entry = LedgerEntry(account_id, entry_id, "grant", amount, now, note, expiry_of(now))
        return self.ledger.credit(entry)

    def purchase(
        self, account_id: str, amount: Decimal, session_id: str, payment_intent: str | None
    ) -> bool:
        """Adds the lot a Stripe Checkout session paid for, expiring in a year; idempotent on
        the session id (a repeat answers False). The payment intent is kept on the lot: refunds
        name it (`CreditLots.lot_for_payment`)."""
        now = utcnow()
        entry = LedgerEntry(
            account_id,
            "purchase#" + session_id,
            "purchase",
            amount,
            now,
            f"Stripe Checkout {session_id}",
            expiry_of(now),
            payment_intent=payment_intent,
        )
        return self.ledger.credit(entry)

    @staticmethod
    def _new_key(
        account_id: str,
        label: str,
        now: str,
        *,
        management: bool = False,
        limit: Decimal | None = None,
    ) -> tuple[ApiKey, str]:
        secret = new_secret()
        key = ApiKey(
            key_hash=hash_secret(secret),
            key_id="key_" + _random.token_hex(8),
            account_id=account_id,
            label=label,
            hint=hint(secret),
            created_at=now,
            limit=limit,
            management=management,
        )
        return key, secret
