"""What a cold start pays for: the completions function must not import the billing-only
libraries (the Stripe SDK ~150 ms, Powertools Idempotency) nor PyJWT (~130 ms, for dashboard
sign-in only), which load on first use instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import app
heavy = [
    m
    for m in (
        "stripe",
        "aws_lambda_powertools.utilities.idempotency",
        "jwt",
        "onerouter.doors.messages.body",
    )
    if m in sys.modules
]
print(",".join(heavy))
"""


def test_completions_function_does_not_import_stripe() -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": os.pathsep.join([".", str(ROOT / "shared")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT / "functions" / "completions",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == ""
