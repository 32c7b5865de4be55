"""The app of BillingWebhookFunction: Stripe's webhook and nothing else.

A small app rather than `create_app`: no catalog, no router, no providers to load on a cold
start. The route is the one the full app serves too (`routes/billing.py`).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from ..accounts.service import AccountService
from ..settings import Settings
from ..store.accounts import AccountsRepository
from ..store.keys import KeysRepository
from ..store.ledger import LedgerRepository
from .errors import HANDLERS
from .routes import billing


def create_webhook_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    accounts = AccountsRepository(settings.tables.accounts)
    ledger = LedgerRepository(settings.tables.ledger, accounts)
    service = AccountService(accounts, KeysRepository(settings.tables.keys), ledger)
    app = Starlette(
        routes=[Mount("/api/v1", routes=billing.webhook_routes)], exception_handlers=HANDLERS
    )
    app.state.settings = settings
    app.state.accounts = service
    billing.state(app.state, service, settings)
    return app
