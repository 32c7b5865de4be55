"""`onerouter dev`: the gateway on loopback with embedded AWS and a seeded dev account."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import uvicorn

from ..accounts.service import AccountService
from ..api.app import create_app
from ..billing.expiry import make_handler as make_expiry_handler
from ..settings import Settings
from ..usage.consumer import make_handler
from .aws import LocalAWS
from .poller import PollerThread, QueuePoller
from .scheduler import ScheduleThread

DEV_ACCOUNT = "acct_dev"
DEV_CREDITS = Decimal("10.00")


@dataclass(frozen=True)
class DevLogin:
    account_id: str
    key: str


def seed_dev_account(service: AccountService) -> DevLogin:
    """The dev account with $10.00 on first start; on an existing store, a fresh key for it."""
    if service.accounts.get(DEV_ACCOUNT) is None:
        opened = service.open_account(DEV_CREDITS, account_id=DEV_ACCOUNT, label="dev")
        return DevLogin(opened.account_id, opened.key)
    _, secret = service.issue_key(DEV_ACCOUNT, label="dev")
    return DevLogin(DEV_ACCOUNT, secret)


def write_dev_env(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    path.chmod(0o600)


def run(host: str = "127.0.0.1", port: int = 8000, env_file: Path | None = None) -> None:
    env_file = env_file or Path(".onerouter/dev.env")
    os.environ.setdefault("ONEROUTER_ADMIN_TOKEN", "dev-admin-" + secrets.token_urlsafe(16))
    with LocalAWS() as aws:
        settings = Settings.from_env()
        app = create_app(settings)
        login = seed_dev_account(app.state.accounts)
        base_url = f"http://{host}:{port}/v1"
        write_dev_env(
            env_file,
            {
                "ONEROUTER_API_KEY": login.key,
                "ONEROUTER_BASE_URL": base_url,
                "ONEROUTER_ADMIN_TOKEN": settings.admin_token or "",
            },
        )
        print(
            f"OneRouter dev gateway  {base_url}\n"
            f"  AWS endpoint         {aws.endpoint}\n"
            f"  dev account          {login.account_id} (${DEV_CREDITS} of credit)\n"
            f"  API key              {login.key}\n"
            f"  operator token       {settings.admin_token}\n"
            f"  written to           {env_file}\n"
            f"  books                AWS_ENDPOINT_URL={aws.endpoint} onerouter ledger check"
            f" --prefix {aws.prefix}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        with usage_consumer(settings), credit_expiry(settings):
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def usage_consumer(settings: Settings) -> PollerThread:
    """The usage consumer, in process: a daemon thread feeding the usage queue's batches to the
    same handler Lambda runs. A context manager: it stops when the runner does."""
    if not settings.usage_queue_url:
        raise RuntimeError("USAGE_QUEUE_URL is not set: the template names no usage queue")
    return PollerThread(QueuePoller(settings.usage_queue_url, make_handler(settings)))


def credit_expiry(settings: Settings) -> ScheduleThread:
    """The credit expiry job, in process: the same handler CreditExpiryFunction runs, once at
    start and then daily, as its EventBridge schedule would. A context manager."""
    return ScheduleThread(make_expiry_handler(settings), name="credit-expiry")
