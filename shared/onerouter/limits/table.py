"""The rate limiter's table: one item per limited scope (an account, or a key with limits of
its own), updated with one conditional UpdateItem per request.

An item is::

    {"scope": S, "win": N, "n": N, "leases": M, "expires_at": N}

`win` is the current minute (epoch seconds // 60) and `n` the requests counted in it: a fixed
one-minute window, reset by the first request of the next minute. `leases` maps each request
in flight to the epoch second its slot lapses: a request renews its lease while it runs and
removes it when it ends, so a request whose process died gives its slot back when the lease
lapses, without anyone cleaning up after it. `expires_at` lets DynamoDB's TTL delete the item
of a scope that went quiet.

Admission is one UpdateItem whose condition holds in the usual case (same minute, under both
limits). When it does not, DynamoDB returns the item as it was (ReturnValuesOnConditionCheckFailure)
and the answer is decided from it: over a limit, or a second UpdateItem that starts the new
minute or removes lapsed leases, conditioned on exactly the state it read. Calls go out the
way usage events and prompt-cache reads do (aws_json.AwsJsonClient): a signed POST of
DynamoDB's JSON protocol on a kept-alive connection, no botocore client, no worker thread.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..aws_json import AwsJsonClient
from ..cache.store import TARGET_PREFIX, dynamodb_endpoint

Limit = Literal["requests_per_minute", "concurrent_requests"]

# Attempts at one admission: the first, then re-planned from the item DynamoDB returned.
ATTEMPTS = 4
# Lapsed leases removed by one update at most: keeps the update small; more go next time.
_SWEEP = 16
# How long a quiet scope's item is kept after its last lease would have lapsed.
_KEEP_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Rule:
    """The limits of one scope."""

    requests_per_minute: int
    concurrent_requests: int


@dataclass(frozen=True, slots=True)
class Granted:
    count: int  # requests in this minute, this one included
    window: int


@dataclass(frozen=True, slots=True)
class Refused:
    limit: Limit
    window: int


class TableUnavailable(Exception):
    """The table did not answer usefully; the text names the status or error type only."""


@dataclass(slots=True)
class _Seen:
    """The item as DynamoDB last returned it."""

    window: int
    count: int
    leases: dict[str, int] = field(default_factory=dict)
    has_leases: bool = True

    @classmethod
    def of(cls, item: dict[str, Any]) -> _Seen:
        leases = item.get("leases", {}).get("M")
        return cls(
            window=int(item.get("win", {}).get("N", "0")),
            count=int(item.get("n", {}).get("N", "0")),
            leases={k: int(v["N"]) for k, v in (leases or {}).items()},
            has_leases=leases is not None,
        )


_UNKNOWN: Any = object()  # before the first call: assume the usual case


class LimitsTable:
    def __init__(
        self,
        table: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        clock: Callable[[], float] = time.time,
        *,
        timeout: float = 2.0,
    ) -> None:
        endpoint, region = dynamodb_endpoint(endpoint_url, region)
        self.table = table
        self.clock = clock
        # One attempt per call: a throttled or failed admission is not retried blindly here,
        # the limiter decides (it lets the request through rather than hold it).
        self._client = AwsJsonClient(
            endpoint, "dynamodb", TARGET_PREFIX, region, timeout=timeout, attempts=1
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def acquire(
        self, scope: str, rule: Rule, lease: str, lease_until: int
    ) -> Granted | Refused:
        """Counts a request and takes a slot for it, or says which limit refuses it."""
        seen: _Seen | None = _UNKNOWN
        for _ in range(ATTEMPTS):
            now = self.clock()
            planned = _plan(scope, rule, lease, lease_until, int(now // 60), now, seen)
            if isinstance(planned, Refused):
                return planned
            payload, window = planned
            payload["TableName"] = self.table
            status, answer = await self._client.call("UpdateItem", payload)
            if status == 200:
                # A minute's first request sets n to 1, which an update may not echo back.
                count = answer.get("Attributes", {}).get("n", {}).get("N", "1")
                return Granted(int(count), window)
            if answer.get("__type") != "ConditionalCheckFailedException":
                raise TableUnavailable(_why(status, answer))
            item = answer.get("Item")
            seen = _Seen.of(item) if item else None
        raise TableUnavailable("the item kept changing under the update")

    async def renew(self, scope: str, lease: str, lease_until: int) -> bool:
        """Extends a lease still held; False if it is gone (lapsed and swept)."""
        payload = {
            "TableName": self.table,
            "Key": {"scope": {"S": scope}},
            "UpdateExpression": "SET leases.#l = :until, expires_at = :keep",
            "ConditionExpression": "attribute_exists(leases.#l)",
            "ExpressionAttributeNames": {"#l": lease},
            "ExpressionAttributeValues": {
                ":until": _n(lease_until),
                ":keep": _n(lease_until + _KEEP_SECONDS),
            },
        }
        status, answer = await self._client.call("UpdateItem", payload)
        if status == 200:
            return True
        if answer.get("__type") == "ConditionalCheckFailedException":
            return False
        raise TableUnavailable(_why(status, answer))

    async def release(self, scope: str, lease: str, uncount_window: int | None = None) -> None:
        """Gives the slot back. `uncount_window`: also take the request off that minute's count
        (it was refused by another scope, so it never ran)."""
        payload: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"scope": {"S": scope}},
            "UpdateExpression": "REMOVE leases.#l",
            "ExpressionAttributeNames": {"#l": lease},
        }
        if uncount_window is not None:
            payload["UpdateExpression"] = "REMOVE leases.#l ADD n :less"
            payload["ConditionExpression"] = "win = :win"
            payload["ExpressionAttributeValues"] = {":less": _n(-1), ":win": _n(uncount_window)}
        status, answer = await self._client.call("UpdateItem", payload)
        if status == 200:
            return
        if answer.get("__type") == "ConditionalCheckFailedException":
            # A new minute began meanwhile: nothing to take off it, only the slot to return.
            await self.release(scope, lease)
            return
        raise TableUnavailable(_why(status, answer))


def _plan(
    scope: str,
    rule: Rule,
    lease: str,
    lease_until: int,
    window: int,
    now: float,
    seen: _Seen | None,
) -> tuple[dict[str, Any], int] | Refused:
    """The UpdateItem that admits the request given the item as last seen (`_UNKNOWN`: not
    yet read; None: there is none), or the limit that refuses it."""
    names = {"#l": lease}
    values: dict[str, Any] = {
        ":one": _n(1),
        ":until": _n(lease_until),
        ":keep": _n(lease_until + _KEEP_SECONDS),
    }
    if seen is _UNKNOWN:
        values |= {
            ":win": _n(window),
            ":rpm": _n(rule.requests_per_minute),
            ":conc": _n(rule.concurrent_requests),
        }
        payload = {
            "UpdateExpression": "SET leases.#l = :until, expires_at = :keep ADD n :one",
            "ConditionExpression": "win = :win AND n < :rpm AND size(leases) < :conc",
        }
        return _payload(scope, payload, names, values), window
    if seen is None:
        first = {
            ":win": _n(window),
            ":one": values[":one"],
            ":leases": {"M": {lease: values[":until"]}},
            ":keep": values[":keep"],
        }
        payload = {
            "UpdateExpression": "SET win = :win, n = :one, leases = :leases, expires_at = :keep",
            "ConditionExpression": "attribute_not_exists(#scope)",
        }
        return _payload(scope, payload, {"#scope": "scope"}, first), window

    # The item exists: decide from what it held.
    window = max(window, seen.window)  # another instance's clock may run a little ahead
    same_minute = seen.window == window
    if same_minute and seen.count >= rule.requests_per_minute:
        return Refused("requests_per_minute", window)
    lapsed = [(k, until) for k, until in seen.leases.items() if until <= now][:_SWEEP]
    if len(seen.leases) - len(lapsed) >= rule.concurrent_requests:
        return Refused("concurrent_requests", window)

    sets = ["expires_at = :keep"]
    adds: list[str] = []
    conditions: list[str] = []
    if same_minute:
        adds.append("n :one")
        conditions.append("win = :win AND n < :rpm")
        values |= {":win": _n(window), ":rpm": _n(rule.requests_per_minute)}
    else:
        sets += ["win = :win", "n = :one"]
        conditions.append("win = :was")
        values |= {":win": _n(window), ":was": _n(seen.window)}
    removes: list[str] = []
    if seen.has_leases:
        sets.append("leases.#l = :until")
        # Exactly the leases read: every lapsed one still there as it was, and the rest fewer
        # than the limit.
        values[":cap"] = _n(rule.concurrent_requests + len(lapsed))
        conditions.append("size(leases) < :cap")
        for i, (key, until) in enumerate(lapsed):
            names[f"#x{i}"] = key
            values[f":x{i}"] = _n(until)
            removes.append(f"leases.#x{i}")
            conditions.append(f"leases.#x{i} = :x{i}")
    else:
        sets.append("leases = :leases")
        values[":leases"] = {"M": {lease: _n(lease_until)}}
        values.pop(":until")
        del names["#l"]
        conditions.append("attribute_not_exists(leases)")
    expression = "SET " + ", ".join(sets)
    if adds:
        expression += " ADD " + ", ".join(adds)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    payload = {"UpdateExpression": expression, "ConditionExpression": " AND ".join(conditions)}
    return _payload(scope, payload, names, values), window


def _payload(
    scope: str, payload: dict[str, Any], names: dict[str, str], values: dict[str, Any]
) -> dict[str, Any]:
    return {
        "Key": {"scope": {"S": scope}},
        **payload,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValues": "UPDATED_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _why(status: int, answer: dict[str, Any]) -> str:
    kind = answer.get("__type", "")
    return f"HTTP {status} {kind}".strip() if status else str(answer.get("message", kind))


def seconds_left(window: int, now: float) -> int:
    """Whole seconds until the minute `window` ends (at least 1)."""
    return max(1, math.ceil((window + 1) * 60 - now))
