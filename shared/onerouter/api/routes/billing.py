"""Buying credit: what a purchase costs (a quote), a Checkout Session for the caller's account,
and Stripe's webhook that credits it.

The webhook has no auth but Stripe's signature; it is served by the local app and, deployed,
by BillingWebhookFunction (`api/webhook_app.py`).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Annotated, Any

from anyio import to_thread
from pydantic import BaseModel, BeforeValidator, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...accounts.service import AccountService
from ...billing.money import parse_usd, usd_str
from ...billing.purchase import (
    MAX_PURCHASE,
    MIN_PURCHASE,
    check_amount,
    checkout_session_params,
    quote,
)
from ...billing.stripe_api import BadSignature, StripeApi, StripeFailed, StripeNotConfigured
from ...billing.stripe_webhook import EventInProgress, PurchaseNotCredited, StripeEvents
from ...errors import InvalidRequest, OneRouterError, PermissionDenied, UpstreamFailed
from ...settings import Settings
from ..body import read_json, validate
from ..callers import account_reader
from ..responses import json_response

logger = logging.getLogger("onerouter.api")

# Stripe's events are a few kilobytes; anything far larger is not from Stripe.
MAX_WEBHOOK_BYTES = 256 * 1024


def _amount(value: Any) -> Decimal:
    amount = parse_usd(value)
    check_amount(amount)
    return amount


class CheckoutBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Annotated[Decimal, BeforeValidator(_amount)]


class NotConfigured(OneRouterError):
    status, type, code = 503, "service_unavailable", "payments_not_configured"


class RetryLater(OneRouterError):
    status, type, code = 409, "conflict", "retry_later"


async def get_quote(request: Request) -> Response:
    """GET /api/v1/credits/quote?amount=10: what buying `amount` USD of credit costs. No auth."""
    rule = (
        f"amount must be a number of US dollars from {usd_str(MIN_PURCHASE)} to "
        f"{usd_str(MAX_PURCHASE)}, in whole cents"
    )
    try:
        priced = quote(parse_usd(request.query_params.get("amount")))
    except ValueError:
        raise InvalidRequest(f"{rule}.", param="amount") from None
    data = {
        "amount": usd_str(priced.credits),
        "fee": usd_str(priced.fee),
        "total": usd_str(priced.total),
    }
    return json_response({"data": data})


async def create_checkout(request: Request) -> Response:
    """POST /api/v1/credits/checkout {amount}: a Stripe Checkout Session for `amount` USD.
    A person signed in to the account, or a regular (enabled) API key of it."""
    caller = await account_reader(request)
    if caller.key is not None and caller.key.management:
        raise PermissionDenied(
            "Buying credit takes a regular API key of the account, not a management key.",
            code="management_key",
        )
    if caller.key is not None and caller.key.disabled:
        raise PermissionDenied("This API key is disabled.", code="key_disabled")
    body = validate(CheckoutBody, await read_json(request, 16 * 1024))
    priced = quote(body.amount)
    stripe: StripeApi = request.app.state.stripe
    params = checkout_session_params(
        caller.account_id,
        priced,
        success_url=stripe.settings.success_url,
        cancel_url=stripe.settings.cancel_url,
    )
    try:
        session = await to_thread.run_sync(stripe.create_checkout_session, params)
    except StripeNotConfigured:
        raise NotConfigured("Buying credit is not enabled on this gateway.") from None
    except StripeFailed as exc:
        logger.error("stripe: checkout for account %s failed", caller.account_id)
        raise UpstreamFailed(f"Stripe could not open a checkout: {exc}") from None
    data = {
        "id": session["id"],
        "url": session["url"],
        "amount": usd_str(priced.credits),
        "fee": usd_str(priced.fee),
        "total": usd_str(priced.total),
    }
    return json_response({"data": data}, status=201)


async def stripe_webhook(request: Request) -> Response:
    """POST /api/v1/billing/stripe/webhook: a signed Stripe event. 400 changes nothing."""
    events: StripeEvents = request.app.state.stripe_events
    payload = await _raw_body(request)
    try:
        event = events.stripe.verify_event(payload, request.headers.get("stripe-signature"))
    except StripeNotConfigured:
        raise NotConfigured("The Stripe webhook is not configured on this gateway.") from None
    except BadSignature as exc:
        raise InvalidRequest(
            f"Invalid Stripe signature: {exc}", code="invalid_signature", param="Stripe-Signature"
        ) from None
    try:
        outcome = await to_thread.run_sync(events.handle, event)
    except EventInProgress:
        raise RetryLater("This event is being handled already; retry later.") from None
    except PurchaseNotCredited:
        raise RetryLater("The refunded purchase is not credited yet; retry later.") from None
    return json_response({"received": True, **outcome})


async def _raw_body(request: Request) -> bytes:
    # The signature covers the exact bytes: read them as they came, within a cap.
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise InvalidRequest("The webhook body is too large.")
    return body


def state(app_state: Any, accounts: AccountService, settings: Settings) -> None:
    """Puts what these routes use on `app.state`: the Stripe API and the event handler."""
    stripe = StripeApi(settings.stripe)
    pipeline = getattr(app_state, "pipeline", None)
    forget = pipeline.authenticator.forget if pipeline is not None else None
    app_state.stripe = stripe
    app_state.stripe_events = StripeEvents(
        accounts, stripe, settings.tables.idempotency, on_credit=forget
    )


checkout_routes = [
    Route("/credits/quote", get_quote, methods=["GET"]),
    Route("/credits/checkout", create_checkout, methods=["POST"]),
]
webhook_routes = [Route("/billing/stripe/webhook", stripe_webhook, methods=["POST"])]
routes = [*checkout_routes, *webhook_routes]
