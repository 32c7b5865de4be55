"""Exact costs, to the last decimal, for every pricing component."""

from __future__ import annotations

from decimal import Decimal

from onerouter.billing.pricing import Tokens, cost_of, worst_case
from onerouter.routing.catalog import Pricing


def pricing(**prices: str) -> Pricing:
    return Pricing.model_validate({"prompt": "3", "completion": "15", **prices})


CACHED = pricing(input_cache_read="0.3", input_cache_write="3.75", request="0.001", image="0.0048")


def test_plain_prompt_and_completion() -> None:
    cost = cost_of(pricing(), Tokens(prompt=1234, completion=567))
    assert cost.prompt == Decimal("0.003702")
    assert cost.completion == Decimal("0.008505")
    assert cost.total == Decimal("0.012207")


def test_every_component_at_its_own_price() -> None:
    tokens = Tokens(
        prompt=10_000, completion=2_000, cache_read=6_000, cache_write=1_000, reasoning=500
    )
    cost = cost_of(CACHED, tokens, images=2)
    assert cost.prompt == Decimal("0.009")  # 3,000 fresh x $3/M
    assert cost.cache_read == Decimal("0.0018")  # 6,000 x $0.30/M
    assert cost.cache_write == Decimal("0.00375")  # 1,000 x $3.75/M
    assert cost.completion == Decimal("0.0225")  # 1,500 x $15/M
    assert cost.reasoning == Decimal("0.0075")  # 500 x $15/M
    assert cost.request == Decimal("0.001")
    assert cost.images == Decimal("0.0096")
    assert cost.total == Decimal("0.05515")
    assert sum(cost.details().values()) == cost.total


def test_cache_tiers_default_to_the_prompt_price() -> None:
    cost = cost_of(pricing(), Tokens(prompt=1_000_000, cache_read=400_000, cache_write=100_000))
    assert cost.total == Decimal("3")


def test_counts_that_do_not_add_up_are_clamped_not_billed_twice() -> None:
    cost = cost_of(CACHED, Tokens(prompt=100, completion=10, cache_read=500, reasoning=50))
    assert cost.cache_read == Decimal("0.00003")  # only the 100 prompt tokens there are
    assert cost.prompt == 0
    assert cost.reasoning == Decimal("0.00015") and cost.completion == 0


def test_tokens_read_from_openai_usage() -> None:
    usage = {
        "prompt_tokens": 50,
        "completion_tokens": 20,
        "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 7},
    }
    assert Tokens.from_usage(usage) == Tokens(50, 20, 30, 5, 7)
    assert Tokens.from_usage({"prompt_tokens": -1, "completion_tokens": True}) == Tokens()
    assert Tokens.from_usage(None) == Tokens()


def test_worst_case_bills_every_prompt_token_fresh() -> None:
    assert worst_case(CACHED, 1000, 100, images=1) == Decimal("0.003") + Decimal(
        "0.0015"
    ) + Decimal("0.001") + Decimal("0.0048")
