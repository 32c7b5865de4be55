"""The usage and activity tables: what each served request used and cost, and per-day totals.

Usage: one item per request, keyed by its generation id alone, so writes spread evenly over
partitions however busy one account is, and a second write of the same request is refused.
Activity: per account, one item per day, model, provider and key, whose counters are added to.

The usage table's `by_account` index (account_id, created_at; all attributes) lists one
account's requests newest first, a page at a time (`UsageRepository.page`). Its partition is
the account, so it takes a very busy account's every write (template.yaml says how far that
goes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from .dynamo import Repository, from_item, to_item
from .records import ActivityRow

_COUNTERS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost",
)
_LABELS = ("day", "model", "provider", "key_id")
ACCOUNT_INDEX = "by_account"
# What a page's position is made of: the index's key and the table's.
PAGE_KEY = ("account_id", "created_at", "generation_id")
# Items one query reads (before filters), and queries one page may take: a selective filter
# gives a short page (with a cursor to go on from) rather than an unbounded read.
_QUERY_ITEMS = 200
_MAX_QUERIES = 10


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    # Where the next page starts (the PAGE_KEY attributes), or None at the end.
    next_key: dict[str, str] | None


class UsageRepository(Repository):
    def put_item(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The transaction item that records one request, refusing a second record of it."""
        return self._put_new(dict(values), "generation_id")

    def get(self, generation_id: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.table,
            Key={"generation_id": {"S": generation_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def page(
        self,
        account_id: str,
        limit: int,
        start: Mapping[str, str] | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Page:
        """Up to `limit` of the account's records, newest first, after `start` (a `next_key`),
        whose attributes equal `filters`. Reads until `limit` records match or the end, at most
        `_MAX_QUERIES` queries: a page may be short and still have a `next_key`."""
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": ACCOUNT_INDEX,
            "KeyConditionExpression": "#account_id = :account_id",
            "ScanIndexForward": False,
        }
        names = {"#account_id": "account_id"}
        values: dict[str, Any] = {":account_id": account_id}
        conditions = []
        for i, (name, value) in enumerate(sorted((filters or {}).items())):
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            conditions.append(f"#f{i} = :f{i}")
        # Unfiltered, a query reads just what the page shows; filtered, more at a time.
        arguments["Limit"] = max(limit, _QUERY_ITEMS) if conditions else limit
        if conditions:
            arguments["FilterExpression"] = " AND ".join(conditions)
        arguments["ExpressionAttributeNames"] = names
        arguments["ExpressionAttributeValues"] = to_item(values)
        if start is not None:
            arguments["ExclusiveStartKey"] = to_item({name: start[name] for name in PAGE_KEY})
        records: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        for _ in range(_MAX_QUERIES):
            response = self.dynamodb.query(**arguments)
            items = response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            for position, item in enumerate(items):
                records.append(from_item(item))
                if len(records) == limit:
                    more = last is not None or position < len(items) - 1
                    return Page(records, _position(records[-1]) if more else None)
            if last is None:
                return Page(records, None)
            arguments["ExclusiveStartKey"] = last
        assert last is not None  # else the loop returned
        return Page(records, _position(from_item(last)))

    def costs_by_account(self) -> dict[str, Decimal]:
        """Σ cost of every recorded request, per account. A full scan: audits only."""
        totals: dict[str, Decimal] = {}
        for item in self._all_items(ProjectionExpression="account_id, cost"):
            values = from_item(item)
            account_id = values["account_id"]
            totals[account_id] = totals.get(account_id, Decimal(0)) + values["cost"]
        return totals


def _position(record: Mapping[str, Any]) -> dict[str, str]:
    return {name: record[name] for name in PAGE_KEY}


def row_key(day: str, model: str, provider: str, key_id: str) -> str:
    """The activity item's sort key: day first, so a date range is a key range. '#' separates
    the parts and is escaped inside them (with '%'), so distinct rows never share a key."""
    parts = (day, model, provider, key_id)
    return "#".join(p.replace("%", "%25").replace("#", "%23") for p in parts)


class ActivityRepository(Repository):
    def add_item(self, row: ActivityRow) -> dict[str, Any]:
        """The transaction item that adds `row`'s counters to its day's row (made if missing)."""
        values = asdict(row)
        names = {f"#{name}": name for name in (*_LABELS, *_COUNTERS)}
        labels = ", ".join(f"#{name} = :{name}" for name in _LABELS)
        counters = ", ".join(f"#{name} :{name}" for name in _COUNTERS)
        return {
            "Update": {
                "TableName": self.table,
                "Key": {
                    "account_id": {"S": row.account_id},
                    "row_key": {"S": row_key(row.day, row.model, row.provider, row.key_id)},
                },
                "UpdateExpression": f"SET {labels} ADD {counters}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(
                    {f":{name}": values[name] for name in (*_LABELS, *_COUNTERS)}
                ),
            }
        }

    def rows(self, account_id: str, first_day: str = "0", last_day: str = "9") -> list[ActivityRow]:
        """An account's rows from `first_day` to `last_day` (inclusive, YYYY-MM-DD)."""
        items = self._all_items(
            "query",
            KeyConditionExpression="account_id = :account AND row_key BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":account": {"S": account_id},
                ":first": {"S": first_day},
                # '$' sorts after '#', so every row of the last day is inside the range.
                ":last": {"S": last_day + "$"},
            },
        )
        rows = []
        for item in items:
            values = from_item(item)
            rows.append(
                ActivityRow(
                    account_id=values["account_id"],
                    day=values["day"],
                    model=values["model"],
                    provider=values["provider"],
                    key_id=values["key_id"],
                    requests=int(values["requests"]),
                    prompt_tokens=int(values["prompt_tokens"]),
                    completion_tokens=int(values["completion_tokens"]),
                    cached_tokens=int(values["cached_tokens"]),
                    reasoning_tokens=int(values["reasoning_tokens"]),
                    cost=values["cost"],
                )
            )
        return rows
