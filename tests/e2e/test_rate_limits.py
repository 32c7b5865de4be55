"""Rate limits through the real server: a burst past the per-minute limit, slow requests past
the concurrency limit, a key's own limits, two gateway processes sharing one limit, a crashed
process's slot coming back, and nothing charged (nor any provider called) for a refusal."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import boto3
import httpx
import openai
import pytest

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.settings import RateLimitSettings, Settings
from tests.account_api import call, manager
from tests.conftest import ADMIN_TOKEN, gateway_env
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider
from tests.usage_queue import drain, new_queue, receive

ROOT = Path(__file__).resolve().parents[2]
MODEL = "test/solo"  # one provider: every request the gateway lets through reaches `fake`
# Short leases, so a crashed request's slot comes back within the test.
LEASE = 2.0


@pytest.fixture(scope="module")
def queue() -> str:
    return new_queue("onerouter-limits")


@pytest.fixture(scope="module")
def limited(settings: Settings, queue: str) -> Iterator[ServerThread]:
    """A gateway whose usage events go to a queue only this module reads."""
    own = dataclasses.replace(
        settings, usage_queue_url=queue, rate_limits=RateLimitSettings(lease_seconds=LEASE)
    )
    with ServerThread(create_app(own), name="limited") as server:
        yield server


Spawn = Callable[..., str]


@pytest.fixture
def spawn(
    catalog_file: Path, fakes: tuple[FakeOpenAIProvider, ...], queue: str
) -> Iterator[Callable[[], tuple[str, subprocess.Popen[str]]]]:
    """Starts another gateway process on the same moto server (as another Lambda instance
    would run): its URL and process."""
    processes: list[subprocess.Popen[str]] = []

    def start() -> tuple[str, subprocess.Popen[str]]:
        env = {
            **gateway_env(catalog_file, fakes),
            "USAGE_QUEUE_URL": queue,
            "ONEROUTER_RATE_LIMITS": "on",
            "ONEROUTER_LEASE_SECONDS": str(LEASE),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.gateway_process"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        url = f"http://127.0.0.1:{int(process.stdout.readline())}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "the second gateway stopped"
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    return url, process
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("the second gateway did not start")

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture
def account(limited: ServerThread) -> NewAccount:
    opened: NewAccount = limited.app.state.accounts.open_account(Decimal("10.00"))
    return opened


@pytest.fixture(autouse=True)
def _drained(queue: str) -> None:
    drain(queue)


def set_limits(gateway: ServerThread, account: NewAccount, **limits: Any) -> dict[str, Any]:
    response = call(
        gateway, "PATCH", f"/admin/accounts/{account.account_id}/limits", ADMIN_TOKEN, limits
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def client(url: str, key: str) -> openai.OpenAI:
    # No retries: the SDK would retry a 429 itself and hide what the gateway answered.
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)


def ask(url: str, key: str) -> Any:
    """The answer, or the error the SDK raised."""
    try:
        return client(url, key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    except openai.APIError as error:  # a status, or a connection that broke
        return error


def assert_admitted_again(url: str, key: str, within: float = 30) -> None:
    """Asks until a request is no longer refused for its rate (a slot given back by a
    release the test does not see, or a lease lapsing), then checks it was served."""
    deadline = time.monotonic() + within
    answer = ask(url, key)
    while isinstance(answer, openai.RateLimitError) and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = ask(url, key)
    assert not isinstance(answer, Exception), answer


def same_minute(room: float = 8.0) -> None:
    """Waits for a fresh minute if this one has less than `room` seconds left: a burst counted
    across two minutes would meet two limits."""
    left = 60 - time.time() % 60
    if left < room:
        time.sleep(left + 0.05)


def burst(count: int, *calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda f: f(), calls))


def refusals(answers: list[Any]) -> list[openai.RateLimitError]:
    return [a for a in answers if isinstance(a, openai.RateLimitError)]


def test_a_burst_past_the_per_minute_limit_is_refused_and_never_reaches_the_provider(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider, queue: str
) -> None:
    set_limits(limited, account, requests_per_minute=5)
    same_minute()
    answers = burst(8, *[lambda: ask(limited.url, account.key)] * 8)
    refused = refusals(answers)
    assert len(refused) == 3 and len(answers) - len(refused) == 5
    assert len(fake.requests) == 5  # the provider never saw a refused request
    error = refused[0]
    assert error.status_code == 429
    body = error.body
    assert isinstance(body, dict) and body["code"] == "rate_limited"
    assert body["metadata"] == {"limit": "requests_per_minute", "scope": "account"}
    assert "5 requests per minute" in body["message"]
    headers = error.response.headers
    assert 1 <= int(headers["retry-after"]) <= 60
    assert headers["x-ratelimit-limit"] == "5" and headers["x-ratelimit-remaining"] == "0"
    reset = int(headers["x-ratelimit-reset"])
    assert reset % 60 == 0 and time.time() < reset <= time.time() + 61
    # Only the five served were billed: no usage event for a refusal.
    billed = receive(queue, 5)
    assert {e.account_id for e in billed} == {account.account_id}


def test_an_answer_says_how_much_of_the_minute_is_left(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    same_minute()
    first = client(limited.url, account.key).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    second = client(limited.url, account.key).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    for _ in second.parse():
        pass
    assert first.headers["x-ratelimit-limit"] == "600"  # the default
    assert first.headers["x-ratelimit-remaining"] == "599"
    assert second.headers["x-ratelimit-remaining"] == "598"


def test_requests_past_the_concurrency_limit_wait_for_none_and_are_refused(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider, queue: str
) -> None:
    set_limits(limited, account, concurrent_requests=2)
    gate = fake.hold()
    pool = ThreadPoolExecutor(max_workers=2)
    held = [pool.submit(ask, limited.url, account.key) for _ in range(2)]
    assert fake.wait_for(lambda: len(fake.requests) == 2, timeout=10)

    refused = ask(limited.url, account.key)
    assert isinstance(refused, openai.RateLimitError)
    assert refused.body["code"] == "concurrency_limited"  # type: ignore[index]
    assert refused.body["metadata"] == {"limit": "concurrent_requests", "scope": "account"}  # type: ignore[index]
    assert refused.response.headers["retry-after"] == "1"
    assert refused.response.headers["x-ratelimit-limit"] == "2"
    # A stream is refused the same way, with a real status before any event.
    with pytest.raises(openai.RateLimitError):
        client(limited.url, account.key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert len(fake.requests) == 2

    gate.set()
    assert all(not isinstance(f.result(timeout=30), Exception) for f in held)
    pool.shutdown()
    # Both slots came back as their requests ended.
    answers = burst(2, *[lambda: ask(limited.url, account.key)] * 2)
    assert not refusals(answers)
    receive(queue, 4)


def test_a_stream_holds_its_slot_until_it_ends_even_when_its_client_leaves(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    set_limits(limited, account, concurrent_requests=1)
    fake.stream_pause(30, after_chunks=1)  # the stream stays open until the client leaves
    stream = client(limited.url, account.key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "a few words back"}], stream=True
    )
    assert next(iter(stream)).choices
    refused = ask(limited.url, account.key)
    assert isinstance(refused, openai.RateLimitError)
    stream.close()  # the client goes away mid-stream: the gateway gives the slot back
    assert_admitted_again(limited.url, account.key)


def test_a_long_request_renews_its_slot(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    """A request running past its lease keeps its slot: it renews the lease while it runs."""
    set_limits(limited, account, concurrent_requests=1)
    gate = fake.hold()
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(ask, limited.url, account.key)
        assert fake.wait_for(lambda: len(fake.requests) == 1, timeout=10)
        first = lease_of(limited, account)
        # Past the lease it was first given: only a renewal keeps it.
        while time.time() < first + 1:
            time.sleep(0.1)
        assert lease_of(limited, account) > first
        assert isinstance(ask(limited.url, account.key), openai.RateLimitError)
        gate.set()
        assert not isinstance(held.result(timeout=30), Exception)


def lease_of(gateway: ServerThread, account: NewAccount) -> int:
    """When the account's one lease lapses, as the table holds it."""
    item = boto3.client("dynamodb").get_item(
        TableName=gateway.app.state.settings.tables.limits,
        Key={"scope": {"S": f"account#{account.account_id}"}},
        ConsistentRead=True,
    )["Item"]
    (until,) = item["leases"]["M"].values()
    return int(until["N"])


def test_a_key_with_limits_of_its_own_is_refused_within_its_account_s(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider, queue: str
) -> None:
    management = manager(limited, account)
    changed = call(
        limited, "PATCH", f"/keys/{account.key_id}", management, {"requests_per_minute": 2}
    )
    assert changed.status_code == 200, changed.text
    rate_limit = changed.json()["data"]["rate_limit"]
    assert rate_limit == {"requests_per_minute": 2, "concurrent_requests": None}
    other = call(limited, "POST", "/keys", management, {"label": "other"}).json()["key"]

    same_minute()
    answers = [ask(limited.url, account.key) for _ in range(3)]
    refused = refusals(answers)
    assert len(refused) == 1 and refused[0] is answers[2]
    assert refused[0].body["metadata"] == {"limit": "requests_per_minute", "scope": "key"}  # type: ignore[index]
    assert refused[0].response.headers["x-ratelimit-limit"] == "2"
    # The account's other key is not held to this key's limit.
    assert not isinstance(ask(limited.url, other), Exception)
    # The refused request was taken back off the account's count too: 3 counted, not 4.
    item = boto3.client("dynamodb").get_item(
        TableName=limited.app.state.settings.tables.limits,
        Key={"scope": {"S": f"account#{account.account_id}"}},
        ConsistentRead=True,
    )["Item"]
    assert item["n"] == {"N": "3"}
    receive(queue, 3)


def test_the_limit_is_one_limit_across_gateway_processes(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider, spawn: Any, queue: str
) -> None:
    second, _ = spawn()
    set_limits(limited, account, requests_per_minute=6)
    same_minute(room=15)
    calls = [lambda: ask(limited.url, account.key)] * 5 + [lambda: ask(second, account.key)] * 5
    answers = burst(10, *calls)
    assert len(refusals(answers)) == 4
    assert len(fake.requests) == 6
    receive(queue, 6)


def test_a_crashed_request_s_slot_comes_back_by_itself(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider, spawn: Any
) -> None:
    second, process = spawn()
    set_limits(limited, account, concurrent_requests=1)
    gate = fake.hold()
    with ThreadPoolExecutor(max_workers=1) as pool:
        doomed = pool.submit(ask, second, account.key)
        assert fake.wait_for(lambda: len(fake.requests) == 1, timeout=10)
        process.send_signal(signal.SIGKILL)  # dies holding the slot: nothing releases it
        process.wait()
        assert isinstance(doomed.result(timeout=30), openai.APIConnectionError)
    gate.set()

    first = ask(limited.url, account.key)
    assert isinstance(first, openai.RateLimitError)
    assert first.body["code"] == "concurrency_limited"  # type: ignore[index]
    assert_admitted_again(limited.url, account.key)


def test_the_messages_door_refuses_in_anthropic_s_words(
    limited: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    set_limits(limited, account, requests_per_minute=1)
    same_minute()
    claude = anthropic.Anthropic(base_url=limited.url, api_key=account.key, max_retries=0)
    arguments: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    }
    claude.messages.create(**arguments)
    with pytest.raises(anthropic.RateLimitError) as refused:
        claude.messages.create(**arguments)
    assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert int(refused.value.response.headers["retry-after"]) >= 1
    assert len(fake.requests) == 1


def test_the_operator_sets_and_clears_an_account_s_limits(
    limited: ServerThread, account: NewAccount
) -> None:
    answer = set_limits(limited, account, requests_per_minute=50, concurrent_requests=3)
    assert answer["rate_limit"] == {"requests_per_minute": 50, "concurrent_requests": 3}
    assert answer["own"] == {"requests_per_minute": 50, "concurrent_requests": 3}
    shown = call(limited, "GET", "/account", manager(limited, account)).json()["data"]
    assert shown["rate_limit"] == {"requests_per_minute": 50, "concurrent_requests": 3}
    cleared = set_limits(limited, account, requests_per_minute=None)
    assert cleared["rate_limit"] == {"requests_per_minute": 600, "concurrent_requests": 3}

    path = f"/admin/accounts/{account.account_id}/limits"
    for bad in ({"requests_per_minute": 0}, {"concurrent_requests": 1.5}, {"rpm": 5}, {}):
        refused = call(limited, "PATCH", path, ADMIN_TOKEN, bad)
        assert refused.status_code == 400, bad
    assert call(limited, "PATCH", path, "wrong", {"requests_per_minute": 5}).status_code == 401
    missing = call(
        limited,
        "PATCH",
        "/admin/accounts/acct_none/limits",
        ADMIN_TOKEN,
        {"requests_per_minute": 5},
    )
    assert missing.status_code == 404


def test_an_unreachable_limits_table_lets_requests_through(
    settings: Settings, fake: FakeOpenAIProvider
) -> None:
    """A limiter that turned a storage outage into a gateway outage would be worse than one
    that briefly limits less: the request is served, unchecked, and the failure logged."""
    tables = dataclasses.replace(settings.tables, limits="onerouter-no-such-table")
    broken = dataclasses.replace(settings, tables=tables, rate_limits=RateLimitSettings())
    with ServerThread(create_app(broken), name="unlimited") as server:
        account = server.app.state.accounts.open_account(Decimal("1.00"))
        answer = client(server.url, account.key).chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    assert answer.http_response.status_code == 200
    assert "x-ratelimit-limit" not in answer.headers
