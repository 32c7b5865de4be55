"""Which of a model's endpoints may serve a request, and in what order.

Filters first (the caller's `only`/`ignore`, data policy, features, input kinds, context,
`max_price`), each refusal with its reason; then the order: the caller's `order`, then price
for the request's expected size (or measured latency or throughput when asked), with
endpoints whose breaker is open put last.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..billing.pricing import worst_case
from ..providers.base import Target
from ..requests import MaxPrice, ProviderPreferences
from .catalog import Endpoint, Model
from .health import Health
from .needs import PROTOCOL_PARAMETERS, TOKEN_INPUT_PROTOCOLS, Needs


@dataclass(frozen=True, slots=True)
class Refusal:
    provider: str
    reason: str
    # "context": too long for it; "input": it takes no such input; else the caller's choice.
    kind: str = "preference"
    # For an "input" refusal: the input kinds it does not take.
    inputs: frozenset[str] = frozenset()


_TOKENS = frozenset({"tokens"})


def health_key(target: Target) -> str:
    return f"{target.provider.id}/{target.endpoint.model}"


def expected_cost(endpoint: Endpoint, needs: Needs) -> Decimal:
    """USD for this request at this endpoint's prices, at the request's expected size."""
    return worst_case(endpoint.pricing, needs.prompt_tokens, needs.completion_tokens, needs.images)


def _over(endpoint: Endpoint, limit: MaxPrice) -> str:
    pricing = endpoint.pricing
    for name, price, most in (
        ("prompt", pricing.prompt, limit.prompt),
        ("completion", pricing.completion, limit.completion),
        ("request", pricing.request, limit.request),
        ("image", pricing.image, limit.image),
    ):
        if most is not None and price is not None and price > most:
            return f"its {name} price {price} is above max_price.{name} {most}"
    return ""


def refusal(
    target: Target,
    model: Model,
    needs: Needs,
    preferences: ProviderPreferences,
    allow_training: bool,
) -> Refusal | None:
    provider = target.provider
    endpoint = target.endpoint
    name = provider.id
    if preferences.only is not None and name not in preferences.only:
        return Refusal(name, "not in provider.only")
    if preferences.ignore and name in preferences.ignore:
        return Refusal(name, "in provider.ignore")
    if provider.trains_on_prompts and not allow_training:
        return Refusal(name, "may train on prompts, and data_collection is deny")
    supported = endpoint.supported_parameters or PROTOCOL_PARAMETERS[provider.protocol]
    wanted = needs.parameters if preferences.require_parameters else needs.essential
    missing = wanted - supported
    if missing:
        return Refusal(name, f"does not support {', '.join(sorted(missing))}")
    modalities = endpoint.input_modalities or frozenset(model.input_modalities)
    refused = needs.modalities - modalities
    if refused:
        return Refusal(name, f"does not take {', '.join(sorted(refused))} input", "input", refused)
    if needs.token_input and provider.protocol not in TOKEN_INPUT_PROTOCOLS:
        return Refusal(name, "takes only text input, not token arrays", "input", _TOKENS)
    context = endpoint.context_length or model.context_length
    if needs.longest_input is not None:
        if needs.longest_input > context:
            return Refusal(
                name,
                f"its context of {context} tokens is too small for an input of about "
                f"{needs.longest_input} tokens",
                "context",
            )
    elif needs.prompt_tokens + (needs.max_tokens or 0) > context:
        return Refusal(
            name,
            f"its context of {context} tokens is too small for about "
            f"{needs.prompt_tokens} prompt tokens plus max_tokens {needs.max_tokens or 0}",
            "context",
        )
    if preferences.max_price is not None:
        over = _over(endpoint, preferences.max_price)
        if over:
            return Refusal(name, over)
    return None


def choose(
    usable: tuple[Target, ...],
    model: Model,
    needs: Needs,
    preferences: ProviderPreferences,
    allow_training: bool,
    health: Health,
) -> tuple[list[Target], list[Refusal]]:
    chosen: list[Target] = []
    refusals: list[Refusal] = []
    for target in usable:
        why = refusal(target, model, needs, preferences, allow_training)
        if why is None:
            chosen.append(target)
        else:
            refusals.append(why)
    order = {name: i for i, name in enumerate(preferences.order or ())}
    sort = preferences.sort or "price"

    def rank(target: Target) -> tuple[object, ...]:
        key = health_key(target)
        up = health.available(key)
        price = expected_cost(target.endpoint, needs)
        measured = health.snapshot(key)
        if sort == "latency":
            ttft = measured.ttft if measured else None
            speed: tuple[object, ...] = (ttft is None, ttft or 0.0)
        elif sort == "throughput":
            tps = measured.throughput if measured else None
            speed = (tps is None, -(tps or 0.0))
        else:
            speed = ()
        return (
            not up,
            0.0 if up else health.reopens_at(key),
            order.get(target.provider.id, len(order)),
            *speed,
            price,
        )

    chosen.sort(key=rank)
    if not preferences.allow_fallbacks:
        chosen = [t for t in chosen if t.provider.id in order] if order else chosen[:1]
    return chosen, refusals
