"""The I/O of the `bedrock` protocol: one POST to Converse or ConverseStream, whole or streamed.

Calls go over our own pooled connections (not boto3's client, which blocks a thread per call).
Auth: with an API key configured (`api_key_env`, e.g. AWS_BEARER_TOKEN_BEDROCK) it is sent as a
bearer token; without one the request is signed with SigV4 using botocore's credential chain
(environment, profile, instance role...). Note that routing skips a provider whose `api_key_env`
is named but unset; a provider with no `api_key_env` at all is served with IAM signing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import quote, urlsplit

import anyio
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import get_session

from ...requests import GatewayRequest
from ..anthropic.adapter import as_text_completion
from ..base import Target, UpstreamError
from ..http import Upstream
from .request import to_provider_request
from .response import from_provider_response
from .stream import EventDecoder, StreamTranslator

SERVICE = "bedrock"
DEFAULT_REGION = "us-east-1"


def url_for(target: Target, stream: bool) -> str:
    base = target.provider.base_url.rstrip("/")
    operation = "converse-stream" if stream else "converse"
    return f"{base}/model/{quote(target.endpoint.model, safe='')}/{operation}"


def region_of(url: str) -> str:
    """`bedrock-runtime.<region>.amazonaws.com` (or -fips); else the environment's region."""
    parts = (urlsplit(url).hostname or "").split(".")
    if len(parts) >= 4 and parts[0].startswith("bedrock-runtime") and parts[2] == "amazonaws":
        return parts[1]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def sign(
    url: str, headers: dict[str, str], body: bytes, credentials: Credentials
) -> dict[str, str]:
    """`headers` plus SigV4's: Authorization, X-Amz-Date and any session token."""
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials, SERVICE, region_of(url)).add_auth(request)
    return dict(request.headers.items())


def headers_for(target: Target, stream: bool) -> dict[str, str]:
    accept = "application/vnd.amazon.eventstream" if stream else "application/json"
    headers = {"content-type": "application/json", "accept": accept, **target.provider.headers}
    if target.api_key:
        headers["authorization"] = f"Bearer {target.api_key}"
    return headers


def _with_message(error: UpstreamError) -> UpstreamError:
    """Bedrock's error body is `{"message": ...}` (type in `x-amzn-errortype`): say it."""
    raw = error.raw
    if error.detail or not isinstance(raw, dict) or not isinstance(raw.get("message"), str):
        return error
    return UpstreamError(
        error.provider,
        error.kind,
        status=error.status,
        raw=raw,
        retry_after=error.retry_after,
        detail=raw["message"][:500],
    )


class BedrockAdapter:
    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream
        self._credentials: Any = None
        self._resolving = anyio.Lock()

    async def _aws_credentials(self, target: Target) -> Credentials:
        """Credentials to sign with. Finding them (instance metadata, SSO...) and refreshing
        them can block on the network, so that happens on a worker thread, never the loop."""
        if self._credentials is None:
            async with self._resolving:
                if self._credentials is None:
                    session = get_session()
                    self._credentials = await anyio.to_thread.run_sync(session.get_credentials)
        credentials = self._credentials
        if credentials is None:
            detail = "no API key and no AWS credentials to sign with"
            raise UpstreamError(target.provider.id, "connect", detail=detail)
        refresh_needed = getattr(credentials, "refresh_needed", None)
        if refresh_needed is not None and refresh_needed():
            frozen: Credentials = await anyio.to_thread.run_sync(credentials.get_frozen_credentials)
            return frozen
        return cast(Credentials, credentials.get_frozen_credentials())

    async def _call(
        self, target: Target, request: GatewayRequest, stream: bool
    ) -> tuple[str, dict[str, str], bytes]:
        url = url_for(target, stream)
        body = orjson.dumps(to_provider_request(request, target))
        headers = headers_for(target, stream)
        if not target.api_key:
            headers = sign(url, headers, body, await self._aws_credentials(target))
        return url, headers, body

    async def complete(self, target: Target, request: GatewayRequest) -> dict[str, Any]:
        try:
            call = await self._call(target, request, stream=False)
            data = await self._upstream.post_json(target.provider, *call)
        except UpstreamError as exc:
            raise _with_message(exc) from None
        if not isinstance(data, dict) or not isinstance(data.get("output"), dict):
            raise UpstreamError(target.provider.id, "protocol", detail="no output")
        answer = from_provider_response(data, target)
        if request.operation == "completion":
            return as_text_completion(answer) or answer
        return answer

    async def stream(
        self, target: Target, request: GatewayRequest
    ) -> AsyncIterator[dict[str, Any]]:
        provider = target.provider.id
        decoder = EventDecoder(provider)
        translator = StreamTranslator(target)
        legacy = request.operation == "completion"
        body = self._upstream.byte_stream(
            target.provider, *await self._call(target, request, stream=True)
        )
        try:
            # Read to the end of the body, so the connection goes back to the pool.
            async for data in body:
                for kind, event in decoder.feed(data):
                    for chunk in translator.feed(kind, event):
                        out = as_text_completion(chunk) if legacy else chunk
                        if out is not None:
                            yield out
        except UpstreamError as exc:
            raise _with_message(exc) from None
        if not translator.finished:
            raise UpstreamError(provider, "dropped", detail="stream ended before messageStop")
