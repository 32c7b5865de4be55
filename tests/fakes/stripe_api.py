"""A fake Stripe API on loopback: the form-encoded endpoints OneRouter calls, checked the way
Stripe checks them.

Usage::

    with FakeStripe() as stripe:
        settings = ... ONEROUTER_STRIPE_API_BASE=stripe.url, STRIPE_SECRET_KEY=stripe.api_key
        ...
        session = stripe.sessions[session_id]
        paid = stripe.pay(session_id)                      # the session, paid (a card)
        charge = stripe.refund(session_id, cents=500)      # the charge, with amount_refunded
        assert stripe.requests[-1].params["mode"] == "payment"

Endpoints: POST /v1/checkout/sessions, GET /v1/checkout/sessions/{id},
GET /v1/payment_intents/{id}. Errors are Stripe-shaped: {"error": {"type", "message", "param"}}.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl

import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.gateway import ServerThread

DEFAULT_API_KEY = "sk_test_fake_onerouter"

_SESSION_PARAMS = {
    "mode",
    "client_reference_id",
    "line_items",
    "payment_method_types",
    "payment_method_options",
    "metadata",
    "payment_intent_data",
    "success_url",
    "cancel_url",
    "customer_email",
    "expires_at",
}
_PAYMENT_METHODS = {"card", "alipay", "wechat_pay", "link", "us_bank_account"}
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class StripeProblem(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


@dataclass(frozen=True)
class StripeRequest:
    method: str
    path: str
    headers: dict[str, str]  # lowercase names
    params: dict[str, Any]  # the form body, un-flattened (a[b][0]=x → {"a": {"b": ["x"]}})


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding back to nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True, strict_parsing=False):
        match = _KEY.match(key)
        if not match:
            raise StripeProblem(f"Invalid parameter name: {key}", key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise StripeProblem(f"Invalid parameter: {key}", key)
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        indexes = sorted(int(key) for key in converted)
        if indexes != list(range(len(indexes))):
            raise StripeProblem("Array indexes must start at 0 and have no gaps.")
        return [converted[str(i)] for i in indexes]
    return converted


def _int(value: Any, param: str, minimum: int = 0) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise StripeProblem(f"Invalid integer: {value}", param)
    number = int(value)
    if number < minimum:
        raise StripeProblem(f"This value must be greater than or equal to {minimum}.", param)
    return number


def _metadata(value: Any, param: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise StripeProblem("Invalid object", param)
    if len(value) > 50:
        raise StripeProblem("Metadata can have at most 50 keys.", param)
    for key, item in value.items():
        if len(key) > 40 or not isinstance(item, str) or len(item) > 500:
            raise StripeProblem("Metadata keys ≤ 40 and values ≤ 500 characters.", param)
    return dict(value)


def check_session(params: dict[str, Any]) -> int:
    """Validates a Checkout Session's parameters; answers its amount_total in cents."""
    unknown = sorted(set(params) - _SESSION_PARAMS)
    if unknown:
        raise StripeProblem(f"Received unknown parameter: {unknown[0]}", unknown[0])
    if params.get("mode") != "payment":
        raise StripeProblem("mode must be one of payment, setup, subscription.", "mode")
    for url in ("success_url", "cancel_url"):
        value = params.get(url)
        if url == "success_url" and value is None:
            raise StripeProblem("Missing required param: success_url.", url)
        if value is not None and not re.match(r"^https?://", value):
            raise StripeProblem("Not a valid URL", url)
    items = params.get("line_items")
    if not isinstance(items, list) or not items:
        raise StripeProblem("line_items is required in payment mode.", "line_items")
    total = 0
    for i, item in enumerate(items):
        total += _line_item(item, f"line_items[{i}]")
    if total < 50:
        raise StripeProblem("The Checkout Session's total amount must be at least $0.50.")
    if total > 99_999_999:
        raise StripeProblem("The total amount is too large.", "line_items")
    methods = params.get("payment_method_types", [])
    if not isinstance(methods, list) or any(m not in _PAYMENT_METHODS for m in methods):
        raise StripeProblem("Invalid payment_method_types", "payment_method_types")
    options = params.get("payment_method_options", {})
    if "wechat_pay" in methods:
        client = options.get("wechat_pay", {}).get("client")
        if client not in ("web", "ios", "android"):
            raise StripeProblem(
                "payment_method_options[wechat_pay][client] is required for wechat_pay.",
                "payment_method_options[wechat_pay][client]",
            )
    if "metadata" in params:
        _metadata(params["metadata"], "metadata")
    intent = params.get("payment_intent_data", {})
    if set(intent) - {"metadata", "description"}:
        raise StripeProblem("Received unknown parameter in payment_intent_data.")
    if "metadata" in intent:
        _metadata(intent["metadata"], "payment_intent_data[metadata]")
    if len(params.get("client_reference_id", "")) > 200:
        raise StripeProblem("client_reference_id is too long.", "client_reference_id")
    return total


def _line_item(item: Any, param: str) -> int:
    if not isinstance(item, dict) or set(item) - {"quantity", "price_data", "price"}:
        raise StripeProblem("Invalid line item.", param)
    quantity = _int(item.get("quantity"), f"{param}[quantity]", minimum=1)
    data = item.get("price_data")
    if not isinstance(data, dict):
        raise StripeProblem("You must specify either price or price_data.", param)
    if data.get("currency") != "usd":  # this account sells in USD only
        raise StripeProblem("Invalid currency.", f"{param}[price_data][currency]")
    unit = _int(data.get("unit_amount"), f"{param}[price_data][unit_amount]")
    product = data.get("product_data")
    if not isinstance(product, dict) or not product.get("name"):
        raise StripeProblem(
            "Missing required param: product_data[name].",
            f"{param}[price_data][product_data][name]",
        )
    return unit * quantity


class FakeStripe:
    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        # Where the hosted checkout page (see `host_checkout`) delivers its signed events.
        self.webhook: tuple[str, str] | None = None
        self.requests: list[StripeRequest] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self._server = ServerThread(self._app(), name="fake-stripe")

    @property
    def url(self) -> str:
        return self._server.url

    def reset(self) -> None:
        self.requests.clear()

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    # ------------------------------------------------------------ what tests do with sessions

    def pay(self, session_id: str, *, payment_status: str = "paid") -> dict[str, Any]:
        """The session, completed; `payment_status="unpaid"` for a payment still underway
        (Alipay, WeChat Pay), which a later `pay(...)` settles."""
        session = self.sessions[session_id]
        intent_id = session["payment_intent"] or "pi_" + secrets.token_hex(12)
        self.payment_intents.setdefault(
            intent_id,
            {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": "usd",
                "metadata": dict(session["_intent_metadata"]),
                "status": "succeeded",
            },
        )
        session.update(status="complete", payment_status=payment_status, payment_intent=intent_id)
        return self.public(session)

    def refund(self, session_id: str, cents: int) -> dict[str, Any]:
        """The session's charge, `cents` more refunded (fee included), as charge.refunded has it."""
        session = self.sessions[session_id]
        intent = self.payment_intents[session["payment_intent"]]
        intent["amount_refunded"] = min(intent.get("amount_refunded", 0) + cents, intent["amount"])
        return {
            "id": "ch_" + intent["id"][3:],
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": intent["amount_refunded"],
            "currency": "usd",
            "payment_intent": intent["id"],
            "refunded": intent["amount_refunded"] == intent["amount"],
            # No metadata here: the gateway must read it from the payment intent.
            "metadata": {},
        }

    def host_checkout(self, webhook_url: str, webhook_secret: str) -> None:
        """Serve Checkout's payment page as Stripe does, for a browser: sessions made from now on
        have their `url` here, and paying there completes the session, delivers the signed
        checkout.session.completed event to `webhook_url`, and sends the buyer to the
        session's success_url."""
        self.webhook = (webhook_url, webhook_secret)

    @staticmethod
    def public(session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    # ------------------------------------------------------------ the HTTP side

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/checkout/sessions", self._create_session, methods=["POST"]),
                Route("/v1/checkout/sessions/{id}", self._get_session, methods=["GET"]),
                Route("/v1/payment_intents/{id}", self._get_intent, methods=["GET"]),
                Route("/c/pay/{id}", self._payment_page, methods=["GET"]),
                Route("/c/pay/{id}", self._pay_on_page, methods=["POST"]),
            ]
        )

    async def _prologue(self, request: Request) -> dict[str, Any]:
        body = (await request.body()).decode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        params = decode_form(body) if body else {}
        params.update(decode_form(request.url.query) if request.url.query else {})
        self.requests.append(StripeRequest(request.method, request.url.path, headers, params))
        if headers.get("authorization") != f"Bearer {self.api_key}":
            raise StripeProblem("Invalid API Key provided.", status=401)
        if request.method == "POST" and not headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            raise StripeProblem("Stripe takes form-encoded bodies.")
        return params

    async def _create_session(self, request: Request) -> Response:
        try:
            params = await self._prologue(request)
            total = check_session(params)
        except StripeProblem as problem:
            return _error(problem)
        session_id = "cs_test_" + secrets.token_hex(16)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{self.url if self.webhook else 'https://checkout.stripe.com'}"
            f"/c/pay/{session_id}",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_subtotal": total,
            "amount_total": total,
            "currency": "usd",
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "payment_intent": None,
            "payment_method_types": params.get("payment_method_types", ["card"]),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "livemode": False,
            "created": int(time.time()),
            "_intent_metadata": params.get("payment_intent_data", {}).get("metadata", {}),
        }
        self.sessions[session_id] = session
        return JSONResponse(self.public(session))

    async def _get_session(self, request: Request) -> Response:
        try:
            await self._prologue(request)
            session = self.sessions.get(request.path_params["id"])
            if session is None:
                raise StripeProblem("No such checkout.session", "session", status=404)
        except StripeProblem as problem:
            return _error(problem)
        return JSONResponse(self.public(session))

    async def _get_intent(self, request: Request) -> Response:
        try:
            await self._prologue(request)
            intent = self.payment_intents.get(request.path_params["id"])
            if intent is None:
                raise StripeProblem("No such payment_intent", "intent", status=404)
        except StripeProblem as problem:
            return _error(problem)
        return JSONResponse(intent)

    async def _payment_page(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["id"])
        if session is None:
            return HTMLResponse("<h1>This checkout does not exist</h1>", status_code=404)
        total = f"${session['amount_total'] / 100:.2f}"
        return HTMLResponse(
            "<!doctype html><title>Pay OneRouter</title>"
            f"<h1>Pay OneRouter {total}</h1>"
            f'<form method="post"><button type="submit">Pay {total}</button></form>'
        )

    async def _pay_on_page(self, request: Request) -> Response:
        session_id = request.path_params["id"]
        if session_id not in self.sessions or self.webhook is None:
            return HTMLResponse("<h1>This checkout does not exist</h1>", status_code=404)
        paid = self.pay(session_id)
        url, secret = self.webhook
        payload = json.dumps(
            {
                "id": "evt_" + secrets.token_hex(12),
                "object": "event",
                "api_version": "2025-01-27.acacia",
                "created": int(time.time()),
                "livemode": False,
                "type": "checkout.session.completed",
                "data": {"object": paid},
            }
        )
        signature = stripe.WebhookSignature.generate_signature_header(payload, secret)
        async with httpx.AsyncClient(timeout=10) as client:
            delivered = await client.post(
                url,
                content=payload.encode(),
                headers={"content-type": "application/json", "stripe-signature": signature},
            )
        delivered.raise_for_status()
        back = paid["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        return RedirectResponse(back, status_code=303)


def _error(problem: StripeProblem) -> Response:
    body = {
        "error": {
            "type": "invalid_request_error",
            "message": problem.message,
            "param": problem.param,
        }
    }
    return JSONResponse(body, status_code=problem.status)
