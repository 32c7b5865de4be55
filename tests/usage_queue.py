"""A usage queue of a test module's own: the events a gateway sent, read back exactly."""

from __future__ import annotations

import time
import uuid

import boto3

from onerouter.usage.events import UsageEvent


def new_queue(name: str) -> str:
    url: str = boto3.client("sqs").create_queue(QueueName=f"{name}-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    return url


def drain(queue: str) -> None:
    """Reads and deletes whatever the queue holds."""
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def receive(queue: str, count: int) -> list[UsageEvent]:
    """Exactly `count` events (a stream's is sent as it ends, maybe after its client has
    gone), and no more."""
    sqs = boto3.client("sqs")
    found: list[UsageEvent] = []
    deadline = time.monotonic() + 10
    while len(found) < count and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            found.append(UsageEvent.from_message(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert len(found) == count
    assert not sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")
    return found
