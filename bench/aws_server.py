"""AWS for the benchmark, in a process of its own.

    python -m bench.aws_server

Starts moto server on loopback (the tables the gateway reads keys and balances from) and a
stand-in for SQS's SendMessage that answers at once on kept-alive connections, then prints
`{"endpoint": "http://127.0.0.1:N", "queue_url": "http://127.0.0.1:M/000000000000/usage"}`
and serves until its parent goes.

Why a stand-in: moto's server closes every connection after one answer and takes ~10 ms a
message, neither of which SQS does; through it the bench would measure the emulator. The
stand-in checks each message is a usage event, so the gateway's side of the send (building,
signing, one HTTP round trip) is measured as it runs on AWS, minus SQS's own service time.
Apart from the gateway, so that the gateway's measured CPU holds only its own work.
"""

from __future__ import annotations

import os
import threading
import uuid

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
        announce(endpoint=aws.endpoint, queue_url=f"http://127.0.0.1:{port}/000000000000/usage")
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
