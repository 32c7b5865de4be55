"""Helpers for the account API's tests: calls over real HTTP, management keys, usage billed by
the real consumer."""

from __future__ import annotations

from typing import Any

import httpx

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import NewAccount
from onerouter.usage.consumer import UsageConsumer
from onerouter.usage.events import UsageEvent
from tests.conftest import ADMIN_TOKEN
from tests.fakes.gateway import ServerThread
from tests.usage_events import failed_ids, sqs_event, usage_event


def call(
    gateway: ServerThread,
    method: str,
    path: str,
    key: str | None,
    json: Any = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.request(
        method,
        f"{gateway.url}/api/v1{path}",
        json=json,
        params=params,
        headers=headers,
        timeout=10,
    )


def manager(gateway: ServerThread, account: NewAccount) -> str:
    """A management key of `account`, from the operator API; its secret."""
    response = call(
        gateway,
        "POST",
        f"/admin/accounts/{account.account_id}/keys",
        ADMIN_TOKEN,
        {"label": "ops", "management": True},
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["key"]
    return secret


def event_of(account: NewAccount, **changes: Any) -> UsageEvent:
    """A usage event of the account's first key."""
    return usage_event(account.account_id, account.key_id, hash_secret(account.key), **changes)


def bill(consumer: UsageConsumer, *events: UsageEvent) -> None:
    """Runs the usage consumer over `events`, as SQS would deliver them."""
    response = consumer.handle(sqs_event(*events))
    assert not failed_ids(response), response
