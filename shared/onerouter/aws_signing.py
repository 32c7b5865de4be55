"""Signing AWS requests we send over our own pooled connections (Bedrock, SQS).

botocore's clients block a thread per call and spend milliseconds of CPU on each; for calls
on the hot path we send the HTTP ourselves and only borrow botocore's SigV4 signer and its
credential chain (environment, profile, container or instance role...). Finding and
refreshing credentials may touch the network, so that happens on a worker thread.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import os
from typing import Any, cast
from urllib.parse import urlsplit

import anyio
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import get_session

DEFAULT_REGION = "us-east-1"


class NoCredentials(Exception):
    """No AWS credentials anywhere in the chain."""


def region_of(url: str, service_host: str) -> str:
    """The region in `<service_host>.<region>.amazonaws.com` (or `-fips`), else the
    environment's region."""
    parts = (urlsplit(url).hostname or "").split(".")
    if len(parts) >= 4 and parts[0].startswith(service_host) and parts[2] == "amazonaws":
        return parts[1]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def sign(
    url: str,
    headers: dict[str, str],
    body: bytes,
    credentials: Credentials,
    service: str,
    region: str,
) -> dict[str, str]:
    """`headers` plus SigV4's: Authorization, X-Amz-Date and any session token."""
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


@functools.lru_cache(maxsize=16)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign_root_post(
    url: str,
    headers: dict[str, str],
    body: bytes,
    credentials: Credentials,
    service: str,
    region: str,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """SigV4 for a POST to a service's root path (SQS's JSON protocol), as botocore signs it
    (a test checks byte for byte) in a tenth of the time: the per-day key is cached and the
    canonical request is built straight, with nothing to normalise."""
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query:
        raise ValueError("sign_root_post signs requests to the root path only")
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    day = when[:8]
    host = parts.hostname or ""
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = when
    extra = {"X-Amz-Date": when}
    if credentials.token:
        signed["x-amz-security-token"] = credentials.token
        extra["X-Amz-Security-Token"] = credentials.token
    names = sorted(signed)
    canonical = "\n".join(
        (
            "POST",
            "/",
            "",
            *(f"{name}:{signed[name]}" for name in names),
            "",
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        )
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{when}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _signing_key(credentials.secret_key, day, region, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    extra["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {**headers, **extra}


class Signer:
    """The process's AWS credentials, found once and refreshed when they near expiry."""

    def __init__(self) -> None:
        self._credentials: Any = None
        self._resolving = anyio.Lock()

    async def credentials(self) -> Credentials:
        if self._credentials is None:
            async with self._resolving:
                if self._credentials is None:
                    session = get_session()
                    self._credentials = await anyio.to_thread.run_sync(session.get_credentials)
        credentials = self._credentials
        if credentials is None:
            raise NoCredentials("no AWS credentials to sign with")
        refresh_needed = getattr(credentials, "refresh_needed", None)
        if refresh_needed is not None and refresh_needed():
            frozen: Credentials = await anyio.to_thread.run_sync(credentials.get_frozen_credentials)
            return frozen
        return cast(Credentials, credentials.get_frozen_credentials())

    async def sign(
        self, url: str, headers: dict[str, str], body: bytes, service: str, region: str
    ) -> dict[str, str]:
        return sign(url, headers, body, await self.credentials(), service, region)

    async def sign_root_post(
        self, url: str, headers: dict[str, str], body: bytes, service: str, region: str
    ) -> dict[str, str]:
        return sign_root_post(url, headers, body, await self.credentials(), service, region)
