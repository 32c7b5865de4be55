"""The gateway's added latency over calling the provider directly, and the cold-start import cost.

Run from the repository root::

    .venv/bin/python -m bench.run            # full run (~1-2 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick    # smoke run: few requests, numbers are noise

Four processes, all on loopback: the fake OpenAI provider, the fake Anthropic provider, the
gateway (moto server inside it) and this one, the load generator. The rows at c=1 only show
what translating adds: "anthropic" (chat in, the Anthropic provider's protocol out), "messages"
and "responses" (the Anthropic Messages and OpenAI Responses front doors in, the OpenAI provider
out, against the same direct chat call as the first rows); "limits off" is the chat row again
through a second gateway with rate limits off, so the limits' cost is the difference between
the first row and that one. The table goes to stdout and to
bench/results/latest.md (JSON beside it). See bench/README.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from bench.imports import measure_imports
from bench.load import ANTHROPIC_VERSION, CONCURRENCIES, Suite, Target, measure
from bench.paths import RESULTS, ROOT
from bench.processes import Child, wait_ready
from bench.report import render, write_results


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--requests-c1", type=int, default=1500, help="per cell at c=1")
    parser.add_argument("--requests", type=int, default=3000, help="per cell at c=16 and c=64")
    parser.add_argument("--warmup", type=int, default=200, help="per target and mode")
    parser.add_argument("--cell-cap", type=float, default=12.0, help="max seconds per cell")
    parser.add_argument("--import-runs", type=int, default=None, help="5 (--quick: 1)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCIES))
    parser.add_argument("--quick", action="store_true", help="smoke run (tiny counts)")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests_c1, args.requests, args.warmup = 100, 200, 50
    if args.import_runs is None:
        args.import_runs = 1 if args.quick else 5
    return args


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    command = shlex.join([".venv/bin/python", "-m", "bench.run", *argv])
    signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` cleans up like Ctrl-C does
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    children: list[Child] = []
    started = time.monotonic()
    try:
        fake = Child("bench.fake_server")
        children.append(fake)
        fake_info = fake.announcement(timeout=30)
        wait_ready(f"http://127.0.0.1:{fake_info['port']}/v1/models")
        anthropic = Child("bench.anthropic_fake_server")
        children.append(anthropic)
        ant_info = anthropic.announcement(timeout=30)
        # Only POST /v1/messages exists; a GET answers 405 (< 500), which means it is up.
        wait_ready(f"{ant_info['base_url']}/v1/messages")
        aws = Child("bench.aws_server")
        children.append(aws)
        aws_info = aws.announcement(timeout=60)
        gateway = Child(
            "bench.gateway_server",
            aws_info["endpoint"],
            aws_info["queue_url"],
            fake_info["base_url"],
            fake_info["api_key"],
            ant_info["base_url"],
            ant_info["api_key"],
            env={"ONEROUTER_BENCH_LIMITS_URL": aws_info["limits_url"]},
        )
        children.append(gateway)
        gw_info = gateway.announcement(timeout=90)
        wait_ready(f"http://127.0.0.1:{gw_info['port']}/health")
        # The same gateway with rate limits off: the c=1 chat rows again, so the limits'
        # cost (one conditional write before the provider call, one release beside the usage
        # event's send) is the difference between two rows of one run.
        unlimited = Child(
            "bench.gateway_server",
            aws_info["endpoint"],
            aws_info["queue_url"],
            fake_info["base_url"],
            fake_info["api_key"],
            env={"ONEROUTER_RATE_LIMITS": "off"},
        )
        children.append(unlimited)
        off_info = unlimited.announcement(timeout=90)
        wait_ready(f"http://127.0.0.1:{off_info['port']}/health")
        print(
            f"fake provider on :{fake_info['port']} (pid {fake.proc.pid}), gateway on "
            f":{gw_info['port']} (pid {gateway.proc.pid}, loop {gw_info['loop']}), fake "
            f"Anthropic provider on :{ant_info['port']} (pid {anthropic.proc.pid})",
            flush=True,
        )
        direct = Target(
            "direct",
            f"{fake_info['base_url']}/chat/completions",
            {"authorization": f"Bearer {fake_info['api_key']}", "content-type": "application/json"},
            "gpt-4o-mini",
        )
        through = Target(
            "gateway",
            f"http://127.0.0.1:{gw_info['port']}/v1/chat/completions",
            {"authorization": f"Bearer {gw_info['key']}", "content-type": "application/json"},
            gw_info["model"],
        )
        ant_direct = Target(
            "anthropic-direct",
            f"{ant_info['base_url']}/v1/messages",
            {
                "x-api-key": ant_info["api_key"],
                "anthropic-version": ANTHROPIC_VERSION,
                "content-type": "application/json",
            },
            "claude-sonnet-4-5",
            protocol="anthropic",
        )
        ant_through = Target(
            "anthropic-gateway", through.url, through.headers, gw_info["anthropic_model"]
        )
        runner: Any = asyncio.run
        loops = (gw_info["loop"], fake_info["loop"], "asyncio")
        with contextlib.suppress(ImportError):
            import uvloop

            runner, loops = uvloop.run, (*loops[:2], "uvloop")
        pids = {"gateway": gateway.proc.pid, "fake": fake.proc.pid, "load": None}
        gateway_root = f"http://127.0.0.1:{gw_info['port']}/v1"
        messages = Target(
            "messages-gateway",
            f"{gateway_root}/messages",
            {
                "x-api-key": gw_info["key"],
                "anthropic-version": ANTHROPIC_VERSION,
                "content-type": "application/json",
            },
            gw_info["model"],
            protocol="anthropic",
        )
        responses = Target(
            "responses-gateway",
            f"{gateway_root}/responses",
            through.headers,
            gw_info["model"],
            protocol="responses",
        )
        through_off = Target(
            "gateway-limits-off",
            f"http://127.0.0.1:{off_info['port']}/v1/chat/completions",
            {"authorization": f"Bearer {off_info['key']}", "content-type": "application/json"},
            off_info["model"],
        )
        lone = tuple(c for c in args.concurrency if c == 1)
        crowded = tuple(c for c in args.concurrency if c != 1)
        suites = [
            Suite("", direct, through, lone, pids),
            # Translation cost: concurrency 1 only, which keeps the run short; measured beside
            # the c=1 chat rows, before the crowded ones leave the gateway flushing a backlog
            # of usage events (which would count as these rows' CPU).
            Suite(
                "anthropic ", ant_direct, ant_through, (1,), {**pids, "fake": anthropic.proc.pid}
            ),
            Suite("messages ", direct, messages, (1,), pids),
            Suite("responses ", direct, responses, (1,), pids),
            Suite(
                "limits off ", direct, through_off, (1,), {**pids, "gateway": unlimited.proc.pid}
            ),
            Suite("", direct, through, crowded, pids),
        ]
        suites = [suite for suite in suites if suite.concurrencies]
        rows = runner(measure(suites, args))
    finally:
        for child in reversed(children):
            child.stop()
    print(
        f"load phase done in {time.monotonic() - started:.0f} s; measuring import time", flush=True
    )
    imports = measure_imports(args.import_runs) if args.import_runs > 0 else None
    report = render(command, rows, imports, loops, args)
    print()
    print(report, end="")
    if not args.no_write:
        write_results(command, report, rows, imports)
        print(f"\nwritten to {RESULTS.relative_to(ROOT)}/latest.md (and latest.json)")
    print(f"total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; child processes stopped", file=sys.stderr)
        sys.exit(130)
