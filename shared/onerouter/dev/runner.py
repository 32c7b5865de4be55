"""`onerouter dev`: the gateway on loopback with embedded AWS and a seeded dev account."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import uvicorn

from ..accounts.people import People
from ..accounts.service import AccountService
from ..api.app import create_app
from ..billing.expiry import make_handler as make_expiry_handler
from ..settings import Settings
from ..usage.consumer import make_handler
from .aws import LocalAWS
from .cognito import ConsoleCognito
from .poller import PollerThread, QueuePoller
from .scheduler import ScheduleThread

DEV_ACCOUNT = "acct_dev"
DEV_CREDITS = Decimal("10.00")


DEV_EMAIL = "dev@example.com"


@dataclass(frozen=True)
class DevLogin:
    account_id: str
    key: str


@dataclass(frozen=True)
class DevPerson:
    """The dashboard sign-in of the dev account."""

    email: str
    password: str


def seed_dev_account(service: AccountService) -> DevLogin:
    """The dev account with $10.00 on first start; on an existing store, a fresh key for it."""
    if service.accounts.get(DEV_ACCOUNT) is None:
        opened = service.open_account(DEV_CREDITS, account_id=DEV_ACCOUNT, label="dev")
        return DevLogin(opened.account_id, opened.key)
    _, secret = service.issue_key(DEV_ACCOUNT, label="dev")
    return DevLogin(DEV_ACCOUNT, secret)


def seed_dev_person(settings: Settings, people: People) -> DevPerson | None:
    """A confirmed Cognito user for the dev account, with a fresh password on every start."""
    if settings.cognito is None:
        return None
    pool = settings.cognito.user_pool_id
    cognito: Any = boto3.client("cognito-idp")
    password = secrets.token_urlsafe(12)
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=DEV_EMAIL,
            UserAttributes=[
                {"Name": "email", "Value": DEV_EMAIL},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
    cognito.admin_set_user_password(
        UserPoolId=pool, Username=DEV_EMAIL, Password=password, Permanent=True
    )
    user = cognito.admin_get_user(UserPoolId=pool, Username=DEV_EMAIL)
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    people.link(sub, DEV_EMAIL, DEV_ACCOUNT)
    return DevPerson(DEV_EMAIL, password)


def write_dev_env(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    path.chmod(0o600)


def run(host: str = "127.0.0.1", port: int = 8000, env_file: Path | None = None) -> None:
    env_file = env_file or Path(".onerouter/dev.env")
    os.environ.setdefault("ONEROUTER_ADMIN_TOKEN", "dev-admin-" + secrets.token_urlsafe(16))
    with LocalAWS() as aws:
        settings = Settings.from_env()
        cognito = None
        if settings.cognito is not None:
            cognito = ConsoleCognito(settings.cognito.client_id)
        app = create_app(settings, cognito=cognito)
        login = seed_dev_account(app.state.accounts)
        person = seed_dev_person(settings, app.state.people) if app.state.people else None
        base_url = f"http://{host}:{port}/v1"
        values = {
            "ONEROUTER_API_KEY": login.key,
            "ONEROUTER_BASE_URL": base_url,
            "ONEROUTER_ADMIN_TOKEN": settings.admin_token or "",
        }
        if person is not None:
            values |= {
                "ONEROUTER_DEV_EMAIL": person.email,
                "ONEROUTER_DEV_PASSWORD": person.password,
            }
        write_dev_env(env_file, values)
        dashboard = f"http://{host}:{port}/"
        if person is not None:
            dashboard += f"  (sign in: {person.email} / {person.password})"
        print(
            f"OneRouter dev gateway  {base_url}\n"
            f"  dashboard            {dashboard}\n"
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
