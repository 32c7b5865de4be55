"""The gateway in a process of its own.

    python -m bench.gateway_server AWS_ENDPOINT QUEUE_URL FAKE_BASE_URL FAKE_KEY \
        [ANTHROPIC_BASE_URL ANTHROPIC_KEY]

Uses the AWS of bench.aws_server (a process of its own): the template's tables at
AWS_ENDPOINT, and its SQS stand-in at QUEUE_URL for the usage events. Writes a catalog with
`bench/model` (only endpoint: the fake OpenAI provider) and, given the Anthropic fake's URL and key,
`bench/claude` (only endpoint: a `protocol: anthropic` provider, the fake Anthropic Messages
API), builds the app, opens an account with $1000 and prints
`{"port": N, "key": "...", "model": ..., "anthropic_model": ...}` on stdout; then serves with
uvicorn until SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from types import FrameType

import uvicorn
import yaml

from bench._child import announce, event_loop, exit_with_parent, tcp_listener

MODEL_ID = "bench/model"
FAKE_KEY_ENV = "ONEROUTER_BENCH_FAKE_KEY"
ANTHROPIC_MODEL_ID = "bench/claude"
ANTHROPIC_UPSTREAM_MODEL = "claude-sonnet-4-5"
ANTHROPIC_KEY_ENV = "ONEROUTER_BENCH_ANTHROPIC_KEY"


def catalog(fake_base_url: str, anthropic_base_url: str | None = None) -> dict[str, object]:
    providers: dict[str, object] = {
        "fake": {
            "protocol": "openai",
            "base_url": fake_base_url,
            "api_key_env": FAKE_KEY_ENV,
            "timeouts": {"connect": 2, "first_byte": 10},
        }
    }
    models: list[dict[str, object]] = [
        {
            "id": MODEL_ID,
            "name": "Bench model",
            "context_length": 8192,
            # Every bench request is the same: with the cache on they would all be hits.
            "cache_ttl": 0,
            "endpoints": [
                {
                    "provider": "fake",
                    "model": "gpt-4o-mini",
                    "pricing": {"prompt": "1", "completion": "2"},
                }
            ],
        }
    ]
    if anthropic_base_url is not None:
        providers["anthropic-fake"] = {
            "protocol": "anthropic",
            "base_url": anthropic_base_url,
            "api_key_env": ANTHROPIC_KEY_ENV,
            "timeouts": {"connect": 2, "first_byte": 10},
        }
        models.append(
            {
                "id": ANTHROPIC_MODEL_ID,
                "name": "Bench model (Anthropic protocol)",
                "context_length": 200000,
                "cache_ttl": 0,
                "max_output_tokens": 8192,
                "endpoints": [
                    {
                        "provider": "anthropic-fake",
                        "model": ANTHROPIC_UPSTREAM_MODEL,
                        "pricing": {"prompt": "1", "completion": "2"},
                    }
                ],
            }
        )
    return {"providers": providers, "models": models}


def _exit(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)


def main(argv: list[str]) -> int:
    aws_endpoint, queue_url, fake_base_url, fake_key = argv[:4]
    anthropic_base_url, anthropic_key = (argv[4], argv[5]) if len(argv) >= 6 else (None, None)
    exit_with_parent()
    # Always the bench's own moto server: never an endpoint (or real AWS) the shell names.
    os.environ["AWS_ENDPOINT_URL"] = aws_endpoint

    from onerouter.api.app import create_app
    from onerouter.dev.aws import LocalAWS
    from onerouter.settings import Settings

    with (
        tempfile.TemporaryDirectory(prefix="onerouter-bench-") as tmp,
        LocalAWS(prefix="onerouter-bench"),
    ):
        catalog_path = Path(tmp) / "catalog.yaml"
        catalog_path.write_text(
            yaml.safe_dump(catalog(fake_base_url, anthropic_base_url)), encoding="utf-8"
        )
        env = dict(os.environ)
        env.update(ONEROUTER_CATALOG=str(catalog_path), **{FAKE_KEY_ENV: fake_key})
        env["USAGE_QUEUE_URL"] = queue_url
        if anthropic_key is not None:
            env[ANTHROPIC_KEY_ENV] = anthropic_key
        app = create_app(Settings.from_env(env))
        limits_url = os.environ.get("ONEROUTER_BENCH_LIMITS_URL")
        if limits_url and app.state.pipeline.limiter.table is not None:
            # The rate limits' table on the AWS process's kept-alive stand-in (see
            # bench/aws_server.py), as the tables' DynamoDB would serve it, not moto's.
            from onerouter.limits.table import LimitsTable

            app.state.pipeline.limiter.table = LimitsTable(
                app.state.settings.tables.limits, endpoint_url=limits_url
            )
        opened = app.state.accounts.open_account(Decimal("1000"))
        # Limits the load never meets: the bench measures the check, not refusals.
        unlimited = {"requests_per_minute": 1_000_000, "concurrent_requests": 1000}
        app.state.accounts.accounts.set_limits(opened.account_id, unlimited)

        sock = tcp_listener(0)
        port = sock.getsockname()[1]
        loop = event_loop()
        config = uvicorn.Config(
            app,
            loop=loop,
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=3,
        )
        server = uvicorn.Server(config)
        # uvicorn re-raises the SIGTERM/SIGINT it handled once it has shut down; exiting
        # through SystemExit lets the `with` blocks stop moto and remove the catalog.
        signal.signal(signal.SIGTERM, _exit)
        signal.signal(signal.SIGINT, _exit)
        announce(
            port=port,
            key=opened.key,
            loop=loop,
            model=MODEL_ID,
            anthropic_model=ANTHROPIC_MODEL_ID if anthropic_base_url is not None else None,
        )
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
