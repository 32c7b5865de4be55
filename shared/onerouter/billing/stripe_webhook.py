"""What Stripe's events do to the books: purchases credited exactly once, refunds taken back.

Exactly once, twice over:

- per event id: Powertools Idempotency records each event id handled (IdempotencyTable, kept
  30 days with a TTL); a replay answers the first outcome and touches nothing. A failure
  deletes the record, so Stripe's retry runs again.
- per Checkout Session: the credit's ledger entry id is made from the session id, so the same
  session reported by several events (completed and async_payment_succeeded, or a new event
  id for an old session, in any order) credits once.

Only the session's `metadata.credits` is credited, never the fee-inclusive total, and only
when `metadata.account_id` is the session's `client_reference_id`.

Refunds come out of the credit first and the fee last: a charge refunded by `amount_refunded`
(cumulative, cents, fee included) removes min(credits, amount_refunded) from the purchase's
credit lot in all, never more than the lot still has (credit already spent stays spent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from ..accounts.service import AccountService
from ..store.ledger import UnknownAccount
from .money import usd_str
from .purchase import cents, check_amount, usd_from_cents
from .stripe_api import StripeApi

logger = logging.getLogger("onerouter.billing")

# How long an event id is remembered. Stripe retries for 3 days and lets an operator resend an
# event for 30; past that a resend is still harmless (the session id guards the credit).
EVENT_MEMORY_SECONDS = 30 * 24 * 3600
# How long an event may be "in progress" before another delivery may take it over (a process
# that died mid-way): longer than any one handling (Lambda's timeout is 29 s).
IN_PROGRESS_MILLIS = 60_000


class PurchaseNotCredited(RuntimeError):
    """A refund arrived before the purchase it refunds was credited: Stripe should retry."""


class EventInProgress(RuntimeError):
    """Another delivery of this event is being handled right now: Stripe should retry."""


class _Budget:
    """Stands in for a Lambda context: how long Idempotency may hold an event in progress."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return IN_PROGRESS_MILLIS


class StripeEvents:
    def __init__(
        self,
        accounts: AccountService,
        stripe: StripeApi,
        idempotency_table: str,
        on_credit: Callable[[str], None] | None = None,
    ) -> None:
        self.accounts = accounts
        self.stripe = stripe
        self.idempotency_table = idempotency_table
        # Called with the account id after its credit changed (to drop cached balances).
        self.on_credit = on_credit or (lambda _account_id: None)
        self._once: Callable[..., dict[str, Any]] | None = None

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Handles a verified event once per event id; answers its outcome."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
        )

        try:
            return self._handler()(event=event)
        except IdempotencyAlreadyInProgressError:
            raise EventInProgress(event["id"]) from None

    def _handler(self) -> Callable[..., dict[str, Any]]:
        if self._once is None:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            config = IdempotencyConfig(
                event_key_jmespath="id",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=EVENT_MEMORY_SECONDS,
            )
            config.register_lambda_context(cast(Any, _Budget()))
            self._once = idempotent_function(
                self.process,
                data_keyword_argument="event",
                persistence_store=DynamoDBPersistenceLayer(table_name=self.idempotency_table),
                config=config,
                # Fixed, so the key does not depend on the function's or module's name.
                key_prefix="stripe-event",
            )
        return self._once

    def process(self, *, event: dict[str, Any]) -> dict[str, Any]:
        """What one event does, without the event-id guard."""
        kind = event.get("type")
        obj = (event.get("data") or {}).get("object") or {}
        if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            return self._session_paid(obj)
        if kind == "checkout.session.async_payment_failed":
            logger.info(
                "stripe: payment failed for session %s of account %s",
                obj.get("id"),
                obj.get("client_reference_id"),
            )
            return {"status": "payment_failed", "session": obj.get("id")}
        if kind == "charge.refunded":
            return self._refunded(obj, _iso(event.get("created")))
        return {"status": "ignored", "type": kind}

    def _session_paid(self, session: dict[str, Any]) -> dict[str, Any]:
        session_id = session.get("id")
        if session.get("payment_status") == "unpaid":
            # Alipay, WeChat Pay: the money comes later, with async_payment_succeeded.
            return {"status": "pending", "session": session_id}
        if session.get("payment_status") != "paid":
            return {"status": "ignored", "session": session_id}
        try:
            account_id, credits = _purchase(session)
        except ValueError as exc:
            logger.error("stripe: session %s not credited: %s", session_id, exc)
            return {"status": "rejected", "session": session_id, "reason": str(exc)}
        payment_intent = session.get("payment_intent")
        try:
            applied = self._credit(account_id, credits, str(session_id), payment_intent)
        except UnknownAccount:
            logger.error("stripe: session %s names unknown account %s", session_id, account_id)
            return {"status": "rejected", "session": session_id, "reason": "unknown account"}
        if applied:
            self.on_credit(account_id)
            logger.info("stripe: session %s credited account %s", session_id, account_id)
        return {
            "status": "credited" if applied else "already_credited",
            "session": session_id,
            "account_id": account_id,
            "credits": usd_str(credits),
        }

    def _credit(
        self, account_id: str, credits: Decimal, session_id: str, payment_intent: Any
    ) -> bool:
        intent = payment_intent if isinstance(payment_intent, str) else None
        return self.accounts.purchase(account_id, credits, session_id, intent)

    def _refunded(self, charge: dict[str, Any], at: str) -> dict[str, Any]:
        payment_intent = charge.get("payment_intent")
        if not isinstance(payment_intent, str) or charge.get("currency", "usd") != "usd":
            return {"status": "ignored", "charge": charge.get("id")}
        metadata = self.stripe.payment_intent(payment_intent).get("metadata") or {}
        if "credits" not in metadata:
            return {"status": "ignored", "charge": charge.get("id")}  # not a credit purchase
        try:
            account_id, credits = _metadata(metadata)
            refunded = usd_from_cents(int(charge.get("amount_refunded") or 0))
        except (TypeError, ValueError) as exc:
            logger.error("stripe: refund of %s not applied: %s", payment_intent, exc)
            return {"status": "rejected", "payment_intent": payment_intent, "reason": str(exc)}
        target = min(credits, refunded)
        from .lots import CreditLots

        lots = CreditLots(self.accounts.accounts, self.accounts.ledger)
        lot = lots.lot_for_payment(account_id, payment_intent)
        if lot is None:
            raise PurchaseNotCredited(payment_intent)
        removed = lots.refund(account_id, lot, target, at=at)
        if removed:
            self.on_credit(account_id)
        logger.info(
            "stripe: refund of %s removed %s from account %s",
            payment_intent,
            usd_str(removed),
            account_id,
        )
        return {
            "status": "refunded",
            "payment_intent": payment_intent,
            "account_id": account_id,
            "removed": usd_str(removed),
        }


def _purchase(session: dict[str, Any]) -> tuple[str, Decimal]:
    """The account and the credit a paid session bought; ValueError if anything disagrees."""
    if session.get("mode", "payment") != "payment" or session.get("currency", "usd") != "usd":
        raise ValueError("not a USD payment session")
    account_id, credits = _metadata(session.get("metadata") or {})
    if session.get("client_reference_id") != account_id:
        raise ValueError("metadata.account_id is not the client_reference_id")
    total = session.get("amount_total")
    if total is not None and int(total) < cents(credits):
        raise ValueError("the session was paid less than the credit it names")
    return account_id, credits


def _metadata(metadata: dict[str, Any]) -> tuple[str, Decimal]:
    account_id = metadata.get("account_id")
    if not isinstance(account_id, str) or not account_id:
        raise ValueError("metadata.account_id is missing")
    try:
        credits = Decimal(str(metadata.get("credits")))
        check_amount(credits)
    except (InvalidOperation, ValueError):
        raise ValueError("metadata.credits is not a valid amount of credit") from None
    return account_id, credits


def _iso(created: Any) -> str:
    when = datetime.fromtimestamp(int(created), UTC) if created else datetime.now(UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
