"""AWS for the benchmark, in a process of its own.

    python -m bench.aws_server

Starts moto server on loopback (the tables the gateway reads keys and balances from) and a
stand-in, answering at once on kept-alive connections, for SQS's SendMessage and for the rate
limits table's UpdateItem, then prints `{"endpoint": "http://127.0.0.1:N", "queue_url":
"http://127.0.0.1:M/000000000000/usage", "limits_url": "http://127.0.0.1:M/"}` and serves
until its parent goes.

Why a stand-in: moto's server closes every connection after one answer and takes ~10 ms a
message, neither of which SQS does; through it the bench would measure the emulator. The
stand-in checks each message is a usage event, so the gateway's side of the send (building,
signing, one HTTP round trip) is measured as it runs on AWS, minus SQS's own service time.
The limits stand-in keeps each scope's minute, count and leases in memory and applies the
limiter's updates (limits/table.py) as DynamoDB would, refusing with the item as it was when a
condition fails, so the gateway runs its real admission path; DynamoDB's own service time (a few
milliseconds in-region) is what it leaves out. Through moto the same row measures moto: 5-8 ms
a call, and a new connection for each.
Apart from the gateway, so that the gateway's measured CPU holds only its own work.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench._child import announce, event_loop, exit_with_parent, tcp_listener


async def send_message(request: Request) -> Response:
    from onerouter.usage.events import UsageEvent

    target = request.headers.get("x-amz-target")
    if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
        return Response(b'{"__type": "MissingAuthenticationToken"}', status_code=400)
    body = orjson.loads(await request.body())
    if target == "DynamoDB_20120810.UpdateItem":
        return update_limits(body)
    # Each message must be a usage event, or the bench sees a 500.
    if target == "AmazonSQS.SendMessage":
        UsageEvent.from_message(body["MessageBody"])
        answer: dict[str, object] = {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": ""}
    elif target == "AmazonSQS.SendMessageBatch":
        for entry in body["Entries"]:
            UsageEvent.from_message(entry["MessageBody"])
        ok = [{"Id": e["Id"], "MessageId": str(uuid.uuid4())} for e in body["Entries"]]
        answer = {"Successful": ok, "Failed": []}
    else:
        return Response(b'{"__type": "InvalidAction"}', status_code=400)
    return Response(orjson.dumps(answer), media_type="application/x-amz-json-1.0")


# scope -> {"win": minute or None, "n": count, "leases": {lease: until}}
_SCOPES: dict[str, dict[str, Any]] = {}
_FAILED = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"


def update_limits(body: dict[str, Any]) -> Response:
    """The limiter's UpdateItems, applied as DynamoDB applies them (conditions first)."""
    scope = body["Key"]["scope"]["S"]
    expression = body["UpdateExpression"]
    condition = body.get("ConditionExpression", "")
    names = body.get("ExpressionAttributeNames", {})
    values = {
        k: v.get("N", v.get("M")) for k, v in body.get("ExpressionAttributeValues", {}).items()
    }
    item = _SCOPES.get(scope)
    if not _holds(item, condition, names, values):
        answer: dict[str, Any] = {"__type": _FAILED, "message": "The conditional request failed"}
        if item is not None:
            answer["Item"] = {
                "scope": {"S": scope},
                "win": {"N": str(item["win"])},
                "n": {"N": str(item["n"])},
                "leases": {"M": {k: {"N": str(v)} for k, v in item["leases"].items()}},
            }
        return Response(orjson.dumps(answer), status_code=400)
    item = _SCOPES.setdefault(scope, {"win": 0, "n": 0, "leases": {}})
    clauses = dict(re.findall(r"(SET|ADD|REMOVE) (.*?)(?= SET | ADD | REMOVE |$)", expression))
    sets, adds = clauses.get("SET", ""), clauses.get("ADD", "")
    if "win = :win" in sets:
        item["win"], item["n"] = int(values[":win"]), 1
    if "n :one" in adds:
        item["n"] += 1
    if "n :less" in adds:
        item["n"] -= 1
    if "leases = :leases" in sets:
        item["leases"] = {k: int(v["N"]) for k, v in values[":leases"].items()}
    if "leases.#l = :until" in sets:
        item["leases"][names["#l"]] = int(values[":until"])
    for path in clauses.get("REMOVE", "").split(", "):
        if path.startswith("leases."):
            item["leases"].pop(names[path.removeprefix("leases.")], None)
    return Response(orjson.dumps({"Attributes": {"n": {"N": str(item["n"])}}}))


def _holds(
    item: dict[str, Any] | None, condition: str, names: dict[str, str], values: dict[str, Any]
) -> bool:
    if not condition:
        return True
    if "attribute_not_exists(#scope)" in condition:
        return item is None
    if item is None:
        return False
    checks = [
        ("win = :win", lambda: item["win"] == int(values[":win"])),
        ("win = :was", lambda: item["win"] == int(values[":was"])),
        ("n < :rpm", lambda: item["n"] < int(values[":rpm"])),
        ("size(leases) < :conc", lambda: len(item["leases"]) < int(values[":conc"])),
        ("size(leases) < :cap", lambda: len(item["leases"]) < int(values[":cap"])),
        ("attribute_exists(leases.#l)", lambda: names.get("#l") in item["leases"]),
    ]
    return all(check() for text, check in checks if text in condition)


def main() -> int:
    exit_with_parent()
    os.environ.pop("AWS_ENDPOINT_URL", None)

    from onerouter.dev.aws import LocalAWS

    sock = tcp_listener(0)
    port = sock.getsockname()[1]
    app = Starlette(routes=[Route("/", send_message, methods=["POST"])])
    config = uvicorn.Config(
        app, loop=event_loop(), http="httptools", access_log=False, log_level="warning"
    )
    sqs = uvicorn.Server(config)
    with LocalAWS(prefix="onerouter-bench") as aws:
        threading.Thread(target=sqs.run, kwargs={"sockets": [sock]}, daemon=True).start()
        announce(
            endpoint=aws.endpoint,
            queue_url=f"http://127.0.0.1:{port}/000000000000/usage",
            limits_url=f"http://127.0.0.1:{port}/",
        )
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
