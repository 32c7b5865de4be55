"""Configuration, read once from the environment into a typed, immutable object.

Nothing else in the package reads ``os.environ``: code receives a ``Settings``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CATALOG = Path(__file__).parent / "routing" / "default_catalog.yaml"
# The dashboard's build (web/dist in a checkout), served by `onerouter dev`.
DEFAULT_DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"
# Where the dashboard lives (ONEROUTER_PUBLIC_URL); Checkout returns buyers to its credits page,
# with Stripe filling in {CHECKOUT_SESSION_ID}.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
CHECKOUT_SUCCESS_PATH = "/credits?checkout=success&session_id={CHECKOUT_SESSION_ID}"
CHECKOUT_CANCEL_PATH = "/credits?checkout=cancelled"


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {raw!r}")
    return value


@dataclass(frozen=True)
class Tables:
    keys: str = "onerouter-keys"
    accounts: str = "onerouter-accounts"
    ledger: str = "onerouter-ledger"
    usage: str = "onerouter-usage"
    activity: str = "onerouter-activity"
    # Stripe event ids already handled (Powertools Idempotency records, with a TTL).
    idempotency: str = "onerouter-idempotency"
    # Sealed prompt-cache entries by lookup id, each expiring through the TTL.
    cache: str = "onerouter-cache"
    # Which account each person signed in through Cognito owns, by their Cognito sub.
    logins: str = "onerouter-logins"
    # Per-hour, per-endpoint request counters for the models page (GET /api/v1/models/stats).
    endpoint_stats: str = "onerouter-endpoint-stats"
    # Provider keys accounts stored for themselves (BYOK), sealed under the KMS key.
    provider_keys: str = "onerouter-provider-keys"
    # Rate limits: each account's (and limited key's) requests this minute and slots in flight.
    limits: str = "onerouter-limits"


@dataclass(frozen=True)
class StripeSettings:
    """Stripe credentials and where Checkout sends the buyer back to."""

    secret_key: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    # Stripe's API by default; tests and local runs may point it at a fake on loopback.
    api_base: str | None = None
    success_url: str = f"{DEFAULT_PUBLIC_URL}{CHECKOUT_SUCCESS_PATH}"
    cancel_url: str = f"{DEFAULT_PUBLIC_URL}{CHECKOUT_CANCEL_PATH}"


@dataclass(frozen=True)
class CognitoSettings:
    """The user pool the dashboard's people sign in to (COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID).

    Tokens are checked against the pool's keys at `jwks_url`: Cognito's own address on AWS, the
    moto server's locally (derived from AWS_ENDPOINT_URL), or ONEROUTER_COGNITO_JWKS_URL."""

    user_pool_id: str
    client_id: str
    region: str
    jwks_url: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"


@dataclass(frozen=True)
class RateLimitSettings:
    """Every account's limits unless the operator set its own (admin API), and the lease a
    request in flight holds its slot by (renewed while it runs; a crashed one's lapses)."""

    enabled: bool = True
    requests_per_minute: int = 600
    concurrent_requests: int = 30
    lease_seconds: float = 60.0


@dataclass(frozen=True)
class Settings:
    catalog_path: Path = DEFAULT_CATALOG
    admin_token: str | None = None
    tables: Tables = field(default_factory=Tables)
    usage_queue_url: str | None = None
    stripe: StripeSettings = field(default_factory=StripeSettings)
    # Seconds an authenticated key (and its account's balance) is served from memory.
    auth_cache_ttl: float = 5.0
    # Seconds of upstream silence before the stream gets a keep-alive comment.
    keepalive_interval: float = 5.0
    max_body_bytes: int = 10 * 1024 * 1024
    # The prompt cache's HKDF salt (cache/key.py): a server-side secret; empty means none.
    cache_pepper: bytes = field(default=b"", repr=False)
    # The KMS key that seals stored provider keys (id, ARN or alias); None: storing refused.
    kms_key_id: str | None = None
    # Dashboard sign-in; None: not configured, and only API keys are accepted.
    cognito: CognitoSettings | None = None
    # Where the dashboard's build is served from, when the gateway serves it (locally).
    dashboard_dir: Path = DEFAULT_DASHBOARD_DIR
    # Cookies are marked Secure when the dashboard is served over https.
    public_url: str = DEFAULT_PUBLIC_URL
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    # The whole environment, for provider credentials named by the catalog (`api_key_env`).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        defaults = Tables()
        return cls(
            catalog_path=Path(env.get("ONEROUTER_CATALOG") or DEFAULT_CATALOG),
            admin_token=env.get("ONEROUTER_ADMIN_TOKEN") or None,
            tables=Tables(
                keys=env.get("KEYS_TABLE") or defaults.keys,
                accounts=env.get("ACCOUNTS_TABLE") or defaults.accounts,
                ledger=env.get("LEDGER_TABLE") or defaults.ledger,
                usage=env.get("USAGE_TABLE") or defaults.usage,
                activity=env.get("ACTIVITY_TABLE") or defaults.activity,
                idempotency=env.get("IDEMPOTENCY_TABLE") or defaults.idempotency,
                cache=env.get("CACHE_TABLE") or defaults.cache,
                logins=env.get("LOGINS_TABLE") or defaults.logins,
                endpoint_stats=env.get("ENDPOINT_STATS_TABLE") or defaults.endpoint_stats,
                provider_keys=env.get("PROVIDER_KEYS_TABLE") or defaults.provider_keys,
                limits=env.get("LIMITS_TABLE") or defaults.limits,
            ),
            usage_queue_url=env.get("USAGE_QUEUE_URL") or None,
            stripe=_stripe(env),
            auth_cache_ttl=_positive(env, "ONEROUTER_AUTH_CACHE_TTL", 5.0),
            keepalive_interval=_positive(env, "ONEROUTER_KEEPALIVE_INTERVAL", 5.0),
            max_body_bytes=int(_positive(env, "ONEROUTER_MAX_BODY_BYTES", 10 * 1024 * 1024)),
            cache_pepper=env.get("ONEROUTER_CACHE_PEPPER", "").encode("utf-8"),
            kms_key_id=env.get("ONEROUTER_KMS_KEY_ID") or None,
            cognito=_cognito(env),
            dashboard_dir=Path(env.get("ONEROUTER_DASHBOARD_DIR") or DEFAULT_DASHBOARD_DIR),
            public_url=(env.get("ONEROUTER_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
            rate_limits=_rate_limits(env),
            environ=env,
        )


def _rate_limits(env: Mapping[str, str]) -> RateLimitSettings:
    switch = (env.get("ONEROUTER_RATE_LIMITS") or "on").lower()
    if switch not in ("on", "off"):
        raise ValueError(f"ONEROUTER_RATE_LIMITS must be on or off, got {switch!r}")
    return RateLimitSettings(
        enabled=switch == "on",
        requests_per_minute=int(_positive(env, "ONEROUTER_REQUESTS_PER_MINUTE", 600)),
        concurrent_requests=int(_positive(env, "ONEROUTER_CONCURRENT_REQUESTS", 30)),
        lease_seconds=_positive(env, "ONEROUTER_LEASE_SECONDS", 60.0),
    )


def _stripe(env: Mapping[str, str]) -> StripeSettings:
    public = (env.get("ONEROUTER_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")
    return StripeSettings(
        secret_key=env.get("STRIPE_SECRET_KEY") or None,
        webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
        api_base=env.get("ONEROUTER_STRIPE_API_BASE") or None,
        success_url=f"{public}{CHECKOUT_SUCCESS_PATH}",
        cancel_url=f"{public}{CHECKOUT_CANCEL_PATH}",
    )


def _cognito(env: Mapping[str, str]) -> CognitoSettings | None:
    pool, client = env.get("COGNITO_USER_POOL_ID"), env.get("COGNITO_CLIENT_ID")
    if not pool or not client:
        return None
    # A pool id is "<region>_<id>".
    region = pool.split("_", 1)[0]
    jwks = env.get("ONEROUTER_COGNITO_JWKS_URL")
    if not jwks:
        endpoint = env.get("AWS_ENDPOINT_URL")
        base = endpoint.rstrip("/") if endpoint else f"https://cognito-idp.{region}.amazonaws.com"
        jwks = f"{base}/{pool}/.well-known/jwks.json"
    return CognitoSettings(pool, client, region, jwks)
