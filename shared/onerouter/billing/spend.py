"""Can this key afford this request? Answered from memory, with no storage write.

The balance and the key's usage come from the authentication cache (a few seconds old at most)
and move only when the usage consumer has booked a batch. In between, this process remembers
what it has committed itself: the worst case of every request still in flight, and the cost
of every request finished in the last `settle_window` seconds (by then the consumer has
normally booked it, and a fresh read of the balance includes it). So concurrent requests on
one small balance cannot all pass the check on the same stale number: the overdraft stays
bounded by what other processes had in flight, and the books, written by the consumer from
actual costs, balance exactly whatever happens here.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ..accounts.auth import Principal
from ..billing.money import usd_str
from ..errors import InsufficientCredits, PermissionDenied

ZERO = Decimal(0)


@dataclass(slots=True)
class Hold:
    """A request's claim on its account's and key's money until it is settled."""

    account_id: str
    key_id: str
    amount: Decimal
    open: bool = True


class Spending:
    def __init__(
        self, settle_window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window = settle_window
        self._clock = clock
        self._accounts: dict[str, Decimal] = {}
        self._keys: dict[str, Decimal] = {}
        # (when, account id, key id, amount) of finished requests not yet surely booked.
        self._recent: deque[tuple[float, str, str, Decimal]] = deque()

    def committed(self, account_id: str) -> Decimal:
        self._expire()
        return self._accounts.get(account_id, ZERO)

    def hold(self, principal: Principal, worst_case: Decimal) -> Hold:
        """Claims `worst_case` for a request, or refuses it: 403 over the key's limit, 402
        beyond the account's balance."""
        self._expire()
        account_id, key = principal.account_id, principal.key
        if key.limit is not None:
            used = key.usage + self._keys.get(key.key_id, ZERO)
            if used + worst_case > key.limit:
                raise PermissionDenied(
                    f"This request may cost up to ${usd_str(worst_case)}, more than is left of "
                    f"this key's ${usd_str(key.limit)} limit; lower max_tokens or raise the limit.",
                    code="key_limit_exceeded",
                )
        available = principal.account.balance - self._accounts.get(account_id, ZERO)
        if worst_case > available:
            raise InsufficientCredits(
                f"This request may cost up to ${usd_str(worst_case)} and the account has "
                f"${usd_str(max(available, ZERO))} available; add credits or lower max_tokens.",
            )
        self._add(account_id, key.key_id, worst_case)
        return Hold(account_id, key.key_id, worst_case)

    def settle(self, hold: Hold, cost: Decimal | None) -> None:
        """The request is over: its hold becomes its actual cost (None: it cost nothing)."""
        if not hold.open:
            return
        hold.open = False
        self._add(hold.account_id, hold.key_id, -hold.amount)
        if cost:
            self._add(hold.account_id, hold.key_id, cost)
            self._recent.append((self._clock(), hold.account_id, hold.key_id, cost))

    def _add(self, account_id: str, key_id: str, amount: Decimal) -> None:
        for table, name in ((self._accounts, account_id), (self._keys, key_id)):
            total = table.get(name, ZERO) + amount
            if total:
                table[name] = total
            else:
                table.pop(name, None)

    def _expire(self) -> None:
        horizon = self._clock() - self._window
        recent = self._recent
        while recent and recent[0][0] < horizon:
            _, account_id, key_id, amount = recent.popleft()
            self._add(account_id, key_id, -amount)
