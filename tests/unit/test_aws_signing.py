"""Our SigV4 for SQS's root-path JSON calls signs exactly as botocore does."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.credentials import Credentials

from onerouter import aws_signing

NOW = dt.datetime(2026, 11, 25, 7, 58, 10, tzinfo=dt.UTC)
HEADERS = {
    "content-type": "application/x-amz-json-1.0",
    "x-amz-target": "AmazonSQS.SendMessageBatch",
}
BODY = b'{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/1/q","Entries":[]}'


@pytest.mark.parametrize("token", [None, "session-token"])
@pytest.mark.parametrize(
    "url",
    [
        "https://sqs.eu-west-1.amazonaws.com/",
        "http://127.0.0.1:5000/",
        "https://sqs.eu-west-1.amazonaws.com:443/",
    ],
)
def test_signs_as_botocore_does(
    monkeypatch: pytest.MonkeyPatch, url: str, token: str | None
) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: NOW.replace(tzinfo=None))
    theirs = aws_signing.sign(url, HEADERS, BODY, credentials, "sqs", "eu-west-1")
    ours = aws_signing.sign_root_post(url, HEADERS, BODY, credentials, "sqs", "eu-west-1", NOW)
    assert ours == theirs


def test_only_the_root_path() -> None:
    with pytest.raises(ValueError):
        aws_signing.sign_root_post(
            "https://sqs.eu-west-1.amazonaws.com/queue",
            HEADERS,
            BODY,
            Credentials("a", "b"),
            "sqs",
            "eu-west-1",
        )
