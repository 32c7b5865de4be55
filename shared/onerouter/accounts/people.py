"""People signed in to the dashboard: from a verified Cognito ID token to the account they own.

A person's first sign-in opens their account (no credit, no key: the dashboard's empty pages
lead them to both) and links it to their Cognito `sub`, in one transaction; two first sign-ins
at once open one account. The link never changes, so it is kept in memory once read.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from decimal import Decimal

from anyio import to_thread
from botocore.exceptions import ClientError

from ..errors import AuthenticationFailed
from ..store.accounts import AccountsRepository
from ..store.dynamo import cancellation_codes
from ..store.logins import Login, LoginsRepository
from ..store.records import Account, utcnow
from .auth import Caller, Person
from .tokens import Identity, TokenVerifier

MAX_REMEMBERED = 10_000


class People:
    def __init__(
        self, verifier: TokenVerifier, logins: LoginsRepository, accounts: AccountsRepository
    ) -> None:
        self.verifier = verifier
        self._logins = logins
        self._accounts = accounts
        self._account_ids: OrderedDict[str, str] = OrderedDict()  # sub -> account id

    async def caller(self, authorization: str | None) -> Caller:
        """The signed-in person behind an `Authorization: Bearer <ID token>`, or a 401."""
        token = (authorization or "").partition(" ")[2].strip()
        identity = await to_thread.run_sync(self.verifier.verify, token)
        account = await to_thread.run_sync(self.account_of, identity)
        return Caller(account, person=Person(identity.sub, identity.email))

    def account_of(self, identity: Identity) -> Account:
        """The person's account, opened on their first sign-in. Blocking."""
        account_id = self._account_ids.get(identity.sub)
        if account_id is None:
            login = self._logins.get(identity.sub) or self._open(identity)
            account_id = login.account_id
            self._remember(identity.sub, account_id)
        account = self._accounts.get(account_id)
        if account is None:  # closed by the operator: the token opens nothing any more
            raise AuthenticationFailed("This account is closed.", code="account_closed")
        return account

    def _open(self, identity: Identity) -> Login:
        now = utcnow()
        account = Account("acct_" + secrets.token_hex(8), Decimal(0), Decimal(0), now)
        login = Login(identity.sub, account.account_id, identity.email, now)
        try:
            self._accounts.dynamodb.transact_write_items(
                TransactItems=[self._accounts.put_item(account), self._logins.put_item(login)]
            )
        except ClientError as exc:
            # Another first sign-in of the same person won the race: theirs is the account.
            if "ConditionalCheckFailed" not in cancellation_codes(exc):
                raise
            existing = self._logins.get(identity.sub)
            if existing is None:
                raise
            return existing
        return login

    def link(self, sub: str, email: str, account_id: str) -> Login:
        """Links a person to an existing account (the dev runner's login for the dev account);
        an existing link is kept. Blocking."""
        login = Login(sub, account_id, email, utcnow())
        try:
            self._logins.dynamodb.transact_write_items(
                TransactItems=[self._accounts.exists_item(account_id), self._logins.put_item(login)]
            )
        except ClientError as exc:
            if "ConditionalCheckFailed" not in cancellation_codes(exc):
                raise
            existing = self._logins.get(sub)
            if existing is None:
                raise
            return existing
        return login

    def _remember(self, sub: str, account_id: str) -> None:
        self._account_ids[sub] = account_id
        while len(self._account_ids) > MAX_REMEMBERED:
            self._account_ids.popitem(last=False)
