"""The endpoint stats table: per hour and per endpoint (model at provider), how many requests,
how they ended, and how fast they were, for the models page (GET /api/v1/models/stats).

One item per hour (`hour`, "YYYY-MM-DDTHH", UTC, of the request's arrival) and endpoint
(`endpoint`, "<model>|<provider>"), holding flat counters that the usage consumer ADDs to:

- `requests`, `ok`, `errors`, `cancelled`: every request the provider served (cache hits are
  left out: no provider was called);
- `l<i>` and `t<i>`: histograms of the latency and the time to first token of the requests
  that ended `ok`, over fixed log-spaced buckets (`bucket`), so that hours merge by adding;
- `tokens` and `gen_ms`: completion tokens and generation time (latency - ttft) of streamed
  `ok` requests, for throughput.

Items expire through the TTL (`expires_at`, epoch seconds) three days after their hour; reads
only ask for the last 24 hours, so an item DynamoDB has not deleted yet is never read.

Not money: these counters are not written in the books' transactions. Writes per hour all go
to one partition, but the consumer adds a whole batch per endpoint in one update, so that is a
few writes a second however busy the gateway is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .dynamo import Repository, from_item, to_item

# Bucket k >= 1 holds [2^((k-1)/4), 2^(k/4)) ms, bucket 0 holds [0, 1) ms: four buckets per
# doubling, so a value read back as its bucket's (geometric) midpoint is within ~9% of the
# truth. The last bucket also holds everything above 2^20 ms (17.5 minutes).
BUCKETS_PER_DOUBLING = 4
BUCKETS = 1 + 20 * BUCKETS_PER_DOUBLING
TTL_SECONDS = 3 * 24 * 3600
_COUNTERS = ("requests", "ok", "errors", "cancelled", "tokens", "gen_ms")


def bucket(ms: int) -> int:
    """The histogram bucket of a duration in milliseconds."""
    if ms < 1:
        return 0
    return min(BUCKETS - 1, 1 + math.floor(BUCKETS_PER_DOUBLING * math.log2(ms)))


def midpoint(index: int) -> float:
    """A bucket's geometric midpoint in ms: what a percentile falling in it reads as."""
    if index == 0:
        return 0.5
    return float(2 ** ((index - 0.5) / BUCKETS_PER_DOUBLING))


def hour_of(timestamp: str) -> str:
    """ "YYYY-MM-DDTHH" of an ISO-8601 UTC timestamp."""
    return timestamp[:13]


def last_hours(now: datetime, count: int) -> list[str]:
    """The hour partitions of the last `count` hours, this one included, newest first."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [(start - timedelta(hours=i)).strftime("%Y-%m-%dT%H") for i in range(count)]


@dataclass
class EndpointCounts:
    """One endpoint's counters, for one hour or merged over several."""

    model: str
    provider: str
    requests: int = 0
    ok: int = 0
    errors: int = 0
    cancelled: int = 0
    tokens: int = 0
    gen_ms: int = 0
    latency: dict[int, int] = field(default_factory=dict)  # bucket -> requests
    ttft: dict[int, int] = field(default_factory=dict)

    def merge(self, other: EndpointCounts) -> None:
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in ((self.latency, other.latency), (self.ttft, other.ttft)):
            for index, count in theirs.items():
                mine[index] = mine.get(index, 0) + count


def percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """The midpoint of the bucket holding the `fraction` quantile; None for no data."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return midpoint(index)
    return None  # unreachable: the counts add up to total


def _endpoint_key(model: str, provider: str) -> str:
    return f"{model}|{provider}"


class EndpointStatsRepository(Repository):
    def add(self, hour: str, counts: EndpointCounts) -> None:
        """ADDs `counts` to the endpoint's item of `hour` (made if missing)."""
        values: dict[str, Any] = {
            ":model": counts.model,
            ":provider": counts.provider,
            ":expires": _expiry(hour),
        }
        names = {"#model": "model", "#provider": "provider", "#expires": "expires_at"}
        adds = []
        for name in _COUNTERS:
            names[f"#{name}"] = name
            values[f":{name}"] = getattr(counts, name)
            adds.append(f"#{name} :{name}")
        for prefix, histogram in (("l", counts.latency), ("t", counts.ttft)):
            for index, count in histogram.items():
                attribute = f"{prefix}{index}"
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = count
                adds.append(f"#{attribute} :{attribute}")
        self.dynamodb.update_item(
            TableName=self.table,
            Key={
                "hour": {"S": hour},
                "endpoint": {"S": _endpoint_key(counts.model, counts.provider)},
            },
            UpdateExpression=(
                "SET #model = :model, #provider = :provider, #expires = :expires "
                f"ADD {', '.join(adds)}"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
        )

    def hour(self, hour: str) -> Iterator[EndpointCounts]:
        """Every endpoint's counters of one hour."""
        items = self._all_items(
            "query",
            ConsistentRead=False,  # stats: a moment stale is fine, at half the read cost
            KeyConditionExpression="#hour = :hour",
            ExpressionAttributeNames={"#hour": "hour"},
            ExpressionAttributeValues={":hour": {"S": hour}},
        )
        for item in items:
            yield _counts(from_item(item))

    def window(self, hours: Iterable[str]) -> list[EndpointCounts]:
        """The counters of `hours`, merged per endpoint."""
        merged: dict[tuple[str, str], EndpointCounts] = {}
        for hour in hours:
            for counts in self.hour(hour):
                key = (counts.model, counts.provider)
                if key not in merged:
                    merged[key] = EndpointCounts(counts.model, counts.provider)
                merged[key].merge(counts)
        return [merged[key] for key in sorted(merged)]


def _expiry(hour: str) -> int:
    start = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    return int(start.timestamp()) + TTL_SECONDS


def _counts(values: dict[str, Any]) -> EndpointCounts:
    counts = EndpointCounts(values["model"], values["provider"])
    for name in _COUNTERS:
        setattr(counts, name, int(values.get(name, 0)))
    for name, value in values.items():
        prefix, index = name[:1], name[1:]
        if prefix in ("l", "t") and index.isdigit():
            histogram = counts.latency if prefix == "l" else counts.ttft
            histogram[int(index)] = int(value)
    return counts
