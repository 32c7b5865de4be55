"""The prompt cache as the pipeline uses it: look a request up, remember an answer.

Keys come from the request itself (cache/key.py), entries are sealed under a key only the
request gives (cache/sealed.py) and kept in DynamoDB with a TTL (cache/store.py). A lookup
that fails for any reason is a miss; remembering happens in the background, after the answer
has gone out, and a failure there only means the next identical request is a miss too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from ..requests import AnyRequest
from .answers import Entry
from .key import CacheKey, cache_key
from .sealed import fits, seal, unseal

logger = logging.getLogger("onerouter.cache")


class Store(Protocol):
    async def get(self, lookup: str) -> bytes | None: ...

    async def put(self, lookup: str, blob: bytes, ttl_seconds: int) -> None: ...

    async def aclose(self) -> None: ...


class PromptCache:
    def __init__(self, store: Store, pepper: bytes = b"") -> None:
        self._store = store
        self._pepper = pepper
        self._writing: set[asyncio.Task[None]] = set()

    def key(self, account_id: str, model_id: str, request: AnyRequest) -> CacheKey:
        return cache_key(account_id, model_id, request, pepper=self._pepper)

    async def lookup(self, key: CacheKey) -> Entry | None:
        blob = await self._store.get(key.lookup)
        data = unseal(key, blob) if blob is not None else None
        return Entry.from_bytes(data) if data is not None else None

    def remember(self, key: CacheKey, entry: Entry, ttl_seconds: int) -> None:
        blob = seal(key, entry.to_bytes())
        if not fits(blob):
            return  # over DynamoDB's item size: simply not cached
        task = asyncio.get_running_loop().create_task(
            self._store.put(key.lookup, blob, ttl_seconds)
        )
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    @property
    def writing(self) -> int:
        """Entries still on their way to the store."""
        return len(self._writing)

    async def aclose(self) -> None:
        if self._writing:
            await asyncio.wait(set(self._writing), timeout=2.0)
        await self._store.aclose()
