"""The `onerouter` console script."""

from __future__ import annotations

import argparse
import os
import sys


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
    from .settings import Settings
    from .store.accounts import AccountsRepository
    from .store.ledger import LedgerRepository
    from .store.usage import UsageRepository

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
    tables = Settings.from_env(env).tables
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


if __name__ == "__main__":
    sys.exit(main())
