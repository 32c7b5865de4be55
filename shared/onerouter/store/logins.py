"""The logins table: which account a person signed in through Cognito owns, by Cognito `sub`
(the user's permanent id; an email can change, a sub cannot)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .dynamo import Repository, from_item


@dataclass(frozen=True, slots=True)
class Login:
    cognito_sub: str
    account_id: str
    email: str
    created_at: str


class LoginsRepository(Repository):
    def get(self, sub: str) -> Login | None:
        response = self.dynamodb.get_item(
            TableName=self.table, Key={"cognito_sub": {"S": sub}}, ConsistentRead=True
        )
        item = response.get("Item")
        return Login(**from_item(item)) if item else None

    def put_item(self, login: Login) -> dict[str, Any]:
        """The transaction item that links a person to an account, once: a second link of the
        same person is refused."""
        return self._put_new(asdict(login), "cognito_sub")
