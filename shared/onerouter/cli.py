"""The `onerouter` console script."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onerouter", description="OneRouter LLM gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the gateway locally on embedded AWS (moto server)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    ledger = commands.add_parser("ledger", help="the books")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    check = ledger_commands.add_parser(
        "check",
        help="per account: credits - expired - usage = balance; prints every difference",
        description="Checks, for every account (or those named), that its ledger entries sum "
        "to its balance: credits - expired - usage = balance. Prints each account that "
        "differs and exits 1 if any does. AWS comes from the environment (AWS_ENDPOINT_URL "
        "for moto server or DynamoDB Local); table names from ACCOUNTS_TABLE, LEDGER_TABLE "
        "and USAGE_TABLE, or --prefix.",
    )
    check.add_argument(
        "--account", action="append", dest="accounts", metavar="ID", help="only this account"
    )
    check.add_argument(
        "--records",
        action="store_true",
        help="also check that the usage records' costs add up to the usage billed "
        "(scans the whole usage table)",
    )
    check.add_argument(
        "--prefix",
        help="tables named as the dev runner names them, PREFIX-<template logical id> "
        "(onerouter dev uses onerouter-local)",
    )
    check.add_argument(
        "--all", action="store_true", help="print every account, not only those that differ"
    )
    expire = commands.add_parser(
        "expire-credits",
        help="expire what is left of credit lots past their expiry (what the daily job does)",
        description="Expires, oldest lot first, what is left of every credit lot whose expiry "
        "is at or before --as-of (default: now), with a ledger entry per lot. Idempotent: a "
        "second run changes nothing. AWS and table names as for `ledger check`.",
    )
    expire.add_argument(
        "--as-of",
        type=_as_of,
        metavar="DATE",
        help="YYYY-MM-DD (lots expiring on or before that UTC day) or an ISO-8601 time",
    )
    expire.add_argument(
        "--account", action="append", dest="accounts", metavar="ID", help="only this account"
    )
    expire.add_argument("--prefix", help="tables named as the dev runner names them")
    args = parser.parse_args(argv)

    if args.command == "dev":
        from .dev.runner import run
        from .routing.catalog import CatalogError

        try:
            run(args.host, args.port)
        except CatalogError as exc:
            print(f"onerouter: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            pass
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if args.command == "expire-credits":
            return expire_credits(args.as_of, args.accounts, prefix=args.prefix)
        return ledger_check(
            args.accounts, records=args.records, prefix=args.prefix, show_all=args.all
        )
    except (FileNotFoundError, BotoCoreError, ClientError) as exc:
        print(f"onerouter: {exc}", file=sys.stderr)
        return 2


def ledger_check(
    accounts: list[str] | None = None,
    *,
    records: bool = False,
    prefix: str | None = None,
    show_all: bool = False,
) -> int:
    from .billing.books import Books
    from .store.accounts import AccountsRepository
    from .store.ledger import LedgerRepository
    from .store.usage import UsageRepository

    tables = _settings(prefix).tables
    accounts_repository = AccountsRepository(tables.accounts)
    books = Books(
        accounts_repository,
        LedgerRepository(tables.ledger, accounts_repository),
        UsageRepository(tables.usage) if records else None,
    )
    checked = books.check(accounts)
    differ = [b for b in checked if not b.balances]
    for account in checked if show_all else differ:
        print(account.describe())
    if differ:
        print(f"books do not balance: {len(differ)} of {len(checked)} accounts differ")
        return 1
    print(f"books balance: {len(checked)} accounts checked")
    return 0


def expire_credits(
    as_of: str | None, accounts: list[str] | None = None, *, prefix: str | None = None
) -> int:
    from .billing.expiry import credit_lots

    summary = credit_lots(_settings(prefix)).expire(as_of, accounts)
    print(
        f"expired {summary.expired} of {summary.lots} lots in {summary.accounts} accounts"
        f" (as of {summary.as_of})"
    )
    if summary.failed:
        print(f"not expired, try again: {' '.join(summary.failed)}")
        return 1
    return 0


def _as_of(value: str) -> str:
    from datetime import UTC, date, datetime

    from .billing.lots import timestamp

    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat() + "T23:59:59.999Z"
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r}") from None
    return timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _settings(prefix: str | None) -> Settings:
    """Settings from the environment; with `prefix`, the dev runner's table names."""
    from .settings import Settings

    env = dict(os.environ)
    if env.get("AWS_ENDPOINT_URL"):
        from .dev.aws import local_credentials

        local_credentials()
        env = dict(os.environ)
    if prefix:
        from .dev.provision import table_name
        from .dev.template import find_template, load_template

        template = load_template(find_template())
        for variable, value in template.environment.items():
            if isinstance(value, dict) and value.get("Ref") in template.tables:
                env[variable] = table_name(prefix, value["Ref"])
    return Settings.from_env(env)


if __name__ == "__main__":
    sys.exit(main())
