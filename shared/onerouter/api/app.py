"""The app factory: the same ASGI app runs under uvicorn (locally and behind Lambda Web Adapter)
and under Mangum (buffered Lambda functions).

Plain Starlette rather than FastAPI: every body is read and validated by hand (size cap, exact
error names), so FastAPI's layer would add ~300 ms of import to each cold start and work to every
request, and give nothing we use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

from ..accounts.auth import Authenticator
from ..accounts.cognito import Cognito
from ..accounts.envelope import Envelope
from ..accounts.people import People
from ..accounts.provider_keys import ProviderKeys
from ..accounts.service import AccountService
from ..accounts.tokens import TokenVerifier
from ..cache.prompt_cache import PromptCache
from ..cache.store import CacheStore
from ..limits.admission import Limiter
from ..limits.table import LimitsTable, Rule
from ..providers import SUPPORTED_PROTOCOLS, Upstream, adapter_for
from ..routing.catalog import load_catalog
from ..routing.dispatch import Dispatcher
from ..routing.health import Health
from ..routing.router import Router
from ..settings import Settings
from ..store.accounts import AccountsRepository
from ..store.endpoint_stats import EndpointStatsRepository
from ..store.keys import KeysRepository
from ..store.ledger import LedgerRepository
from ..store.logins import LoginsRepository
from ..store.provider_keys import ProviderKeysRepository
from ..store.usage import ActivityRepository, UsageRepository
from ..usage.producer import SqsUsageSink
from . import dashboard
from .errors import HANDLERS
from .pipeline import Pipeline
from .routes import (
    account,
    admin,
    api_keys,
    auth,
    billing,
    completions,
    embeddings,
    generations,
    health,
    messages,
    models,
    provider_keys,
    responses_api,
)


def create_app(
    settings: Settings | None = None,
    endpoint_health: Health | None = None,
    cognito: Cognito | None = None,
) -> Starlette:
    """The gateway. `endpoint_health` keeps the endpoints' outcomes (default: a fresh one);
    `cognito` signs people in (default: the user pool the settings name, if any)."""
    settings = settings or Settings.from_env()
    catalog = load_catalog(settings.catalog_path)
    router = Router(catalog, settings.environ, SUPPORTED_PROTOCOLS, endpoint_health)
    upstream = Upstream()
    # Only the protocols this deployment can route to are imported: less cold start.
    adapters = {
        protocol: adapter
        for protocol in router.protocols()
        if (adapter := adapter_for(protocol, upstream)) is not None
    }
    keys = KeysRepository(settings.tables.keys)
    accounts = AccountsRepository(settings.tables.accounts)
    ledger = LedgerRepository(settings.tables.ledger, accounts)
    authenticator = Authenticator(keys, accounts, ttl=settings.auth_cache_ttl)
    # Keys accounts stored for themselves (BYOK), for the catalog's providers only.
    vault = ProviderKeys(
        ProviderKeysRepository(settings.tables.provider_keys, settings.tables.accounts),
        Envelope(settings.kms_key_id),
        catalog.providers,
    )

    usage = SqsUsageSink(settings.usage_queue_url) if settings.usage_queue_url else None
    cache = PromptCache(CacheStore(settings.tables.cache), settings.cache_pepper)
    limits = settings.rate_limits
    limits_table = LimitsTable(settings.tables.limits) if limits.enabled else None
    limiter = Limiter(
        limits_table,
        Rule(limits.requests_per_minute, limits.concurrent_requests),
        limits.lease_seconds,
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await upstream.aclose()
        if usage is not None:
            await usage.aclose()
        await cache.aclose()
        if limits_table is not None:
            await limits_table.aclose()

    public = [*completions.routes, *models.routes]
    public += embeddings.routes
    public += messages.routes
    public += responses_api.routes
    app = Starlette(
        routes=[
            Mount("/v1", routes=public),
            Mount(
                "/api/v1",
                routes=[
                    *models.stats_routes,
                    *public,
                    *account.routes,
                    *generations.routes,
                    *api_keys.routes,
                    *admin.routes,
                    *billing.routes,
                    *auth.routes,
                    *provider_keys.routes,
                ],
            ),
            *health.routes,
            *dashboard.routes(settings.dashboard_dir),
        ],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pipeline = Pipeline(
        authenticator,
        router,
        # A caller's own key may reach a protocol no shared key does: loaded on first use.
        Dispatcher(adapters, router.health, load=lambda protocol: adapter_for(protocol, upstream)),
        usage,
        cache=cache,
        limiter=limiter,
        stored_keys=vault,
    )
    app.state.accounts = AccountService(accounts, keys, ledger)
    app.state.provider_keys = vault
    billing.state(app.state, app.state.accounts, settings)
    app.state.usage_records = UsageRepository(settings.tables.usage)
    app.state.activity = ActivityRepository(settings.tables.activity)
    app.state.endpoint_stats = models.EndpointStats(
        EndpointStatsRepository(settings.tables.endpoint_stats)
    )
    app.state.upstream = upstream
    _people(app.state, settings, accounts, cognito)
    listing = models.listing(router)
    app.state.models_listing = listing
    app.state.models_by_id = {entry["id"]: entry for entry in listing}
    return app


def _people(state: Any, settings: Settings, accounts: AccountsRepository, cognito: Any) -> None:
    """Dashboard sign-in, when a user pool is configured: `state.cognito` and `state.people`."""
    pool = settings.cognito
    state.cognito, state.people = None, None
    if pool is None:
        return
    verifier = TokenVerifier(pool.jwks_url, pool.issuer, pool.client_id)
    state.cognito = cognito or Cognito(pool.client_id)
    state.people = People(verifier, LoginsRepository(settings.tables.logins), accounts)
