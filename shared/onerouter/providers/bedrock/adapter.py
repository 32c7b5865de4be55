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

import anyio
import orjson
from botocore.credentials import Credentials

from ... import aws_signing
from ...aws_signing import NoCredentials, Signer
from ...requests import EmbeddingGatewayRequest, GatewayRequest
from .. import embeddings
from ..anthropic.adapter import as_text_completion
from ..base import Target, UpstreamError
from ..http import Upstream
from .embeddings import (
    COHERE_BATCH,
    CONCURRENCY,
    from_cohere_response,
    from_titan_response,
    is_cohere,
    to_cohere_request,
    to_titan_request,
)
from .request import to_provider_request
from .response import from_provider_response
from .stream import EventDecoder, StreamTranslator

SERVICE = "bedrock"


def url_for(target: Target, stream: bool, operation: str | None = None) -> str:
    base = target.provider.base_url.rstrip("/")
    operation = operation or ("converse-stream" if stream else "converse")
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

    async def embed(self, target: Target, request: EmbeddingGatewayRequest) -> dict[str, Any]:
        """One InvokeModel call per input, at most CONCURRENCY at a time, answers in order."""
        texts = embeddings.texts_of(request, target)
        cohere = is_cohere(target)
        if cohere:
            size = COHERE_BATCH
            bodies = [
                to_cohere_request(texts[i : i + size], request) for i in range(0, len(texts), size)
            ]
        else:
            bodies = [to_titan_request(text, request) for text in texts]
        url = url_for(target, stream=False, operation="invoke")
        answers: list[Any] = [None] * len(bodies)
        limit = anyio.Semaphore(CONCURRENCY)

        async def one(i: int, payload: dict[str, Any]) -> None:
            async with limit:
                body = orjson.dumps(payload)
                headers = headers_for(target, stream=False)
                if not target.api_key:
                    headers = sign(url, headers, body, await self._aws_credentials(target))
                try:
                    answers[i] = await self._upstream.post_json(target.provider, url, headers, body)
                except UpstreamError as exc:
                    raise _with_message(exc) from None

        try:
            async with anyio.create_task_group() as group:
                for i, payload in enumerate(bodies):
                    group.start_soon(one, i, payload)
        except BaseExceptionGroup as group_error:
            # The first failure speaks for the request, as one call's would.
            raise _first(group_error) from None
        encoding = request.params.encoding_format
        if cohere:
            vectors = [
                vector
                for payload, data in zip(bodies, answers, strict=True)
                for vector in from_cohere_response(data, len(payload["texts"]), target)
            ]
            return embeddings.answer(vectors, encoding, target, None)
        results = [from_titan_response(data, target) for data in answers]
        counts = [count for _, count in results]
        tokens = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
        return embeddings.answer([vector for vector, _ in results], encoding, target, tokens)

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


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
