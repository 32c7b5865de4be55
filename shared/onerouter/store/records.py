"""What the tables hold, as typed records. Money is Decimal; timestamps are ISO-8601 UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    balance: Decimal
    total_credits: Decimal
    created_at: str
    # "allow": providers that may train on prompts may serve this account's requests.
    data_collection: str = "deny"
    # What the usage consumer has debited so far (its ledger entries, as a positive sum).
    total_usage: Decimal = Decimal(0)
    # What the expiry job has taken off so far (its ledger entries, as a positive sum).
    total_expired: Decimal = Decimal(0)
    # Rate limits the operator set for this account; None: the gateway's defaults.
    requests_per_minute: int | None = None
    concurrent_requests: int | None = None
    # Providers this account stored its own key for (BYOK); empty: nothing to look up.
    byok_providers: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_hash: str
    key_id: str
    account_id: str
    label: str
    hint: str
    created_at: str
    disabled: bool = False
    limit: Decimal | None = None
    usage: Decimal = Decimal(0)
    # A management key manages its account's keys (/api/v1/keys) and cannot pay for requests.
    management: bool = False
    # This key's own rate limits, within its account's; None: only the account's apply.
    requests_per_minute: int | None = None
    concurrent_requests: int | None = None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement of money on an account; `entry_id` makes it idempotent.

    Credit entries (kinds `grant` and `purchase`) are also credit lots (billing/lots.py): they
    expire at `expires_at`, and carry what refunds removed (`refunded`) and what expired of
    them (`expired_amount`, set once, when the expiry job handles the lot)."""

    account_id: str
    entry_id: str
    kind: str
    amount: Decimal
    created_at: str
    note: str | None = None
    expires_at: str | None = None
    refunded: Decimal | None = None
    expired_amount: Decimal | None = None
    expired_at: str | None = None
    payment_intent: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One account's usage on one day, of one model at one provider, through one key."""

    account_id: str
    day: str  # YYYY-MM-DD (UTC)
    model: str
    provider: str
    key_id: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal = Decimal(0)
