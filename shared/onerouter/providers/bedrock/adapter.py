"""The I/O of the `bedrock` protocol: one POST to Converse or ConverseStream, whole or streamed.

Calls go over our own pooled connections (not boto3's client, which blocks a thread per call).
Auth: with an API key configured (`api_key_env`, e.g. AWS_BEARER_TOKEN_BEDROCK) it is sent as a
bearer token; without one the request is signed with SigV4 using botocore's credential chain
(environment, profile, instance role...). Note that routing skips a provider whose `api_key_env`
is named but unset; a provider with no `api_key_env` at all is served with IAM signing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import orjson
from botocore.credentials import Credentials

from ... import aws_signing
from ...aws_signing import NoCredentials, Signer
from ...requests import GatewayRequest
from ..anthropic.adapter import as_text_completion
from ..base import Target, UpstreamError
from ..http import Upstream
from .request import to_provider_request
from .response import from_provider_response
from .stream import EventDecoder, StreamTranslator

SERVICE = "bedrock"


def url_for(target: Target, stream: bool) -> str:
    base = target.provider.base_url.rstrip("/")
    operation = "converse-stream" if stream else "converse"
    return f"{base}/model/{quote(target.endpoint.model, safe='')}/{operation}"


def region_of(url: str) -> str:
    """`bedrock-runtime.<region>.amazonaws.com` (or -fips); else the environment's region."""
    return aws_signing.region_of(url, "bedrock-runtime")


def sign(
    url: str, headers: dict[str, str], body: bytes, credentials: Credentials
) -> dict[str, str]:
    """`headers` plus SigV4's: Authorization, X-Amz-Date and any session token."""
    return aws_signing.sign(url, headers, body, credentials, SERVICE, region_of(url))


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
        self._signer = Signer()

    async def _aws_credentials(self, target: Target) -> Credentials:
        try:
            return await self._signer.credentials()
        except NoCredentials:
            detail = "no API key and no AWS credentials to sign with"
            raise UpstreamError(target.provider.id, "connect", detail=detail) from None

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
