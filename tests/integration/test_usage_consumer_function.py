"""functions/usage_consumer as Lambda runs it: a fresh Python, the module imported cold, the
handler called with an SQS event and a context; its logs are Powertools JSON on stdout."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import AccountService
from onerouter.settings import Settings
from onerouter.store.accounts import AccountsRepository
from onerouter.store.keys import KeysRepository
from onerouter.store.ledger import LedgerRepository
from tests.usage_events import sqs_event, sqs_record, usage_event

ROOT = Path(__file__).resolve().parents[2]
CANARY = "CANARY-" + secrets.token_hex(12)

INVOKE = """
import importlib.util, json, sys

spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)


class Context:
    function_name = "UsageConsumerFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:UsageConsumerFunction"
    aws_request_id = "req-0123456789"


response = app.handler(json.load(sys.stdin), Context())
print("RESPONSE " + json.dumps(response), flush=True)
"""


def test_the_function_bills_a_batch_and_logs_json_without_bodies(settings: Settings) -> None:
    accounts = AccountsRepository(settings.tables.accounts)
    service = AccountService(
        accounts,
        KeysRepository(settings.tables.keys),
        LedgerRepository(settings.tables.ledger, accounts),
    )
    opened = service.open_account(Decimal("3"))
    key = (opened.key_id, hash_secret(opened.key))
    events = [usage_event(opened.account_id, *key, cost="0.25") for _ in range(2)]
    bad = sqs_record(f'{{"prompt": "{CANARY}"}}', "bad-message")
    batch = sqs_event(*events, bad)
    env = {
        **os.environ,
        **{k: v for k, v in settings.environ.items() if k.endswith(("_TABLE", "_URL"))},
        "POWERTOOLS_SERVICE_NAME": "onerouter",
        "LOG_LEVEL": "INFO",
    }

    done = subprocess.run(
        [sys.executable, "-c", INVOKE, str(ROOT / "functions" / "usage_consumer" / "app.py")],
        input=json.dumps(batch),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    lines = done.stdout.splitlines()
    response = json.loads(next(line for line in lines if line.startswith("RESPONSE "))[9:])
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad-message"}]}
    account = accounts.get(opened.account_id)
    assert account is not None
    assert account.balance == Decimal("2.50")

    logs = [json.loads(line) for line in lines if line.startswith("{")]
    summary = next(log for log in logs if "usage batch" in log["message"])
    counts = re.match(
        r"usage batch: (\d+) messages, (\d+) billed, (\d+) duplicates, (\d+) failed",
        summary["message"],
    )
    assert counts is not None, summary["message"]
    messages, billed, duplicates, failed = map(int, counts.groups())
    # Billed once each (the balance says so). A transaction that a slow emulator answered
    # after botocore's read timeout is sent again and finds its own first attempt booked:
    # counted then as duplicates, never billed twice.
    assert (messages, billed + duplicates, failed) == (3, 2, 1)
    assert summary["service"] == "onerouter"
    assert summary["function_request_id"] == "req-0123456789"
    assert any("bad-message" in log["message"] for log in logs)
    assert CANARY not in done.stdout + done.stderr
    for event in events:  # ids and counts only: no event body is logged
        assert event.to_message() not in done.stdout
