"""The limits an operator sets on an account, or an account on one of its keys, as the API
takes them: whole numbers, null for "the default" (an account) or "the account's" (a key)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ..errors import InvalidRequest

# A slot is a lease in the scope's one item (limits/table.py), about 20 bytes each: a thousand
# keep the item near 20 KB, which DynamoDB bills as 20 writes per update.
MAX_CONCURRENT = 1000
MAX_PER_MINUTE = 1_000_000

RequestsPerMinute = Annotated[StrictInt, Field(ge=1, le=MAX_PER_MINUTE)]
ConcurrentRequests = Annotated[StrictInt, Field(ge=1, le=MAX_CONCURRENT)]
FIELDS = ("requests_per_minute", "concurrent_requests")


class LimitChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests_per_minute: RequestsPerMinute | None = None
    concurrent_requests: ConcurrentRequests | None = None

    def changes(self) -> dict[str, Any]:
        """The limits the client sent, a null (back to the default) among them."""
        sent = {name: getattr(self, name) for name in self.model_fields_set}
        if not sent:
            raise InvalidRequest("Send requests_per_minute, concurrent_requests or both.")
        return sent
