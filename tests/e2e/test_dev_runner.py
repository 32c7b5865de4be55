"""`onerouter dev` as a user runs it: seeds an account, serves, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import httpx
import openai
import pytest

from onerouter.dev.aws import LocalAWS
from tests.conftest import gateway_env
from tests.fakes.openai_provider import FakeOpenAIProvider


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_env(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture
def run_dev(tmp_path: Path, catalog_file: Path, fakes) -> Iterator:
    processes: list[subprocess.Popen[str]] = []

    def start(**extra_env: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
        port = _free_port()
        env = gateway_env(catalog_file, fakes)
        env.pop("AWS_ENDPOINT_URL", None)
        for name in ("KEYS_TABLE", "ACCOUNTS_TABLE", "LEDGER_TABLE", "USAGE_QUEUE_URL"):
            env.pop(name, None)
        env.update(extra_env)
        process = subprocess.Popen(
            [sys.executable, "-m", "onerouter.cli", "dev", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        dev_env = tmp_path / ".onerouter" / "dev.env"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    return process, _read_env(dev_env)
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("onerouter dev did not start")

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_dev_serves_the_seeded_account_and_stops_on_ctrl_c(
    run_dev, fake: FakeOpenAIProvider
) -> None:
    process, env = run_dev()
    assert env["ONEROUTER_API_KEY"].startswith("sk-or1-")
    client = openai.OpenAI(
        base_url=env["ONEROUTER_BASE_URL"], api_key=env["ONEROUTER_API_KEY"], max_retries=0
    )
    answer = client.chat.completions.create(
        model="test/solo", messages=[{"role": "user", "content": "hello"}]
    )
    assert answer.choices[0].message.content
    streamed = list(
        client.chat.completions.create(
            model="test/solo", messages=[{"role": "user", "content": "hello"}], stream=True
        )
    )
    assert streamed[-1].choices[0].finish_reason == "stop"
    assert [m.id for m in client.models.list()][:1]
    # The dev login signs in to the dev account's dashboard.
    api = env["ONEROUTER_BASE_URL"].removesuffix("/v1") + "/api/v1"
    credentials = {"email": env["ONEROUTER_DEV_EMAIL"], "password": env["ONEROUTER_DEV_PASSWORD"]}
    session = httpx.post(f"{api}/auth/sign-in", json=credentials).json()["data"]
    assert session["account_id"] == "acct_dev"

    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert env["ONEROUTER_API_KEY"] in output  # printed for the user
    assert env["ONEROUTER_DEV_PASSWORD"] in output
    assert "$10.00" in output


def test_dev_uses_an_existing_endpoint_and_creates_what_is_missing(
    run_dev, aws: LocalAWS, fake: FakeOpenAIProvider
) -> None:
    process, env = run_dev(AWS_ENDPOINT_URL=os.environ["AWS_ENDPOINT_URL"])
    tables = set(boto3.client("dynamodb").list_tables()["TableNames"])
    assert {"onerouter-local-KeysTable", "onerouter-local-AccountsTable"} <= tables
    client = openai.OpenAI(
        base_url=env["ONEROUTER_BASE_URL"], api_key=env["ONEROUTER_API_KEY"], max_retries=0
    )
    assert client.chat.completions.create(
        model="test/solo", messages=[{"role": "user", "content": "hi"}]
    ).choices
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=20)

    # A second start on the same store keeps the account and issues it a new key, and the
    # dev login a new password, still for the same account.
    process, again = run_dev(AWS_ENDPOINT_URL=os.environ["AWS_ENDPOINT_URL"])
    assert again["ONEROUTER_API_KEY"] != env["ONEROUTER_API_KEY"]
    assert again["ONEROUTER_DEV_PASSWORD"] != env["ONEROUTER_DEV_PASSWORD"]
    api = again["ONEROUTER_BASE_URL"].removesuffix("/v1") + "/api/v1"
    credentials = {
        "email": again["ONEROUTER_DEV_EMAIL"],
        "password": again["ONEROUTER_DEV_PASSWORD"],
    }
    session = httpx.post(f"{api}/auth/sign-in", json=credentials).json()["data"]
    assert session["account_id"] == "acct_dev"
    account = boto3.client("dynamodb").get_item(
        TableName="onerouter-local-AccountsTable", Key={"account_id": {"S": "acct_dev"}}
    )["Item"]
    assert Decimal(account["total_credits"]["N"]) == Decimal("10.00")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=20)
