"""The Stripe API, through the official SDK, imported on first use.

`stripe` costs ~150 ms of import: only the checkout route and the webhook ever load it, never
the completions function's cold start. Calls block (the SDK's requests client); the routes run
them off the event loop.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ..settings import StripeSettings

# Seconds for one Stripe call: well inside API Gateway's 29 s, with a retry.
TIMEOUT = 10.0
# A signed event older than this is refused (the SDK's default): replayed captures go stale.
SIGNATURE_TOLERANCE = 300


class StripeNotConfigured(RuntimeError):
    """STRIPE_SECRET_KEY (or STRIPE_WEBHOOK_SECRET) is not set."""


class StripeFailed(RuntimeError):
    """Stripe refused a call or could not be reached; the message is Stripe's own."""


class BadSignature(ValueError):
    """The webhook body is not what Stripe signed with our secret (or is too old)."""


class StripeApi:
    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        if not self.settings.secret_key:
            raise StripeNotConfigured("STRIPE_SECRET_KEY is not set")
        import stripe

        base = {"api": self.settings.api_base} if self.settings.api_base else None
        return stripe.StripeClient(
            self.settings.secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
            max_network_retries=1,
        )

    def create_checkout_session(
        self, params: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        options = {"idempotency_key": idempotency_key} if idempotency_key else None
        return self._call(lambda: self.client.v1.checkout.sessions.create(params, options))

    def payment_intent(self, payment_intent_id: str) -> dict[str, Any]:
        return self._call(lambda: self.client.v1.payment_intents.retrieve(payment_intent_id))

    def verify_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event Stripe sent, as plain JSON, once its `Stripe-Signature` checks out."""
        secret = self.settings.webhook_secret
        if not secret:
            raise StripeNotConfigured("STRIPE_WEBHOOK_SECRET is not set")
        import stripe

        try:
            stripe.Webhook.construct_event(payload, signature, secret, SIGNATURE_TOLERANCE)
            event = json.loads(payload)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise BadSignature(str(exc).split("\n")[0]) from None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise BadSignature("the signed body is not a Stripe event")
        return event

    @staticmethod
    def _call(request: Any) -> dict[str, Any]:
        import stripe

        try:
            result = request()
        except stripe.StripeError as exc:
            raise StripeFailed(exc.user_message or type(exc).__name__) from None
        data: dict[str, Any] = result.to_dict()
        return data
