"""The credit expiry job's handler: what CreditExpiryFunction runs on its daily EventBridge
schedule, the dev runner on its own daily timer, and `onerouter expire-credits` by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..settings import Settings
from ..store.accounts import AccountsRepository
from ..store.ledger import LedgerRepository
from .lots import CreditLots, timestamp

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class ExpiryFailed(RuntimeError):
    """Some accounts' lots could not be expired; the next run tries them again. Raised so the
    invocation counts as an error (and is alarmed on), after every other account was done."""


def as_of(event: dict[str, Any] | None) -> str:
    """The moment to expire up to: a scheduled event's `time`, else now."""
    raw = (event or {}).get("time")
    moment = datetime.fromisoformat(raw) if isinstance(raw, str) else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return timestamp(moment)


def scheduled_event(moment: str) -> dict[str, Any]:
    """An EventBridge scheduled event of the shape Lambda receives."""
    return {
        "version": "0",
        "id": "local-credit-expiry",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": moment,
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def credit_lots(settings: Settings, dynamodb: Any = None) -> CreditLots:
    accounts = AccountsRepository(settings.tables.accounts, dynamodb)
    return CreditLots(accounts, LedgerRepository(settings.tables.ledger, accounts, dynamodb))


def make_handler(settings: Settings | None = None) -> Handler:
    lots = credit_lots(settings or Settings.from_env())

    def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        summary = lots.expire(as_of(event))
        if summary.failed:
            raise ExpiryFailed(f"{len(summary.failed)} accounts not expired: {summary.failed}")
        return summary.as_dict()

    return handle
