"""The FastAPI app factory: the same app runs under uvicorn (locally and behind Lambda Web
Adapter) and under Mangum (buffered Lambda functions)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from ..accounts.auth import Authenticator
from ..accounts.service import AccountService
from ..providers import SUPPORTED_PROTOCOLS, Upstream, adapter_for
from ..routing.catalog import load_catalog
from ..routing.dispatch import Dispatcher
from ..routing.router import Router
from ..settings import Settings
from ..store.accounts import AccountsRepository
from ..store.keys import KeysRepository
from ..store.ledger import LedgerRepository
from . import errors
from .pipeline import Pipeline
from .routes import admin, completions, health, models


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    catalog = load_catalog(settings.catalog_path)
    router = Router(catalog, settings.environ, SUPPORTED_PROTOCOLS)
    upstream = Upstream()
    adapters = {
        protocol: adapter
        for protocol in SUPPORTED_PROTOCOLS
        if (adapter := adapter_for(protocol, upstream)) is not None
    }
    keys = KeysRepository(settings.tables.keys)
    accounts = AccountsRepository(settings.tables.accounts)
    ledger = LedgerRepository(settings.tables.ledger, accounts)
    authenticator = Authenticator(keys, accounts, ttl=settings.auth_cache_ttl)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await upstream.aclose()

    app = FastAPI(
        title="OneRouter",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.pipeline = Pipeline(authenticator, router, Dispatcher(adapters))
    app.state.accounts = AccountService(accounts, keys, ledger)
    app.state.upstream = upstream
    listing = models.listing(router)
    app.state.models_listing = listing
    app.state.models_by_id = {entry["id"]: entry for entry in listing}

    public = APIRouter()
    public.include_router(completions.router)
    public.include_router(models.router)
    app.include_router(public, prefix="/v1")
    app.include_router(public, prefix="/api/v1")
    app.include_router(admin.router, prefix="/api/v1")
    app.include_router(health.router)
    errors.install(app)
    logging.getLogger("onerouter").setLevel(logging.INFO)
    return app
