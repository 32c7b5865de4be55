"""What each provider would refuse in a request body, judged by its official SDK's request types
(and by the rules its API states beyond them).

The fakes answer a body these checks refuse the way the real provider would (a 400 in its own
error shape), so every test that goes through the gateway also checks that the adapters send
well-formed requests. Each check returns the provider's kind of message, or None when the body
is fine.
"""

from tests.fakes.checks.anthropic import anthropic_problem
from tests.fakes.checks.bedrock import bedrock_problem, titan_embedding_problem
from tests.fakes.checks.gemini import gemini_embedding_problem, gemini_problem
from tests.fakes.checks.openai import openai_embedding_problem, openai_problem

__all__ = [
    "anthropic_problem",
    "bedrock_problem",
    "gemini_embedding_problem",
    "gemini_problem",
    "openai_embedding_problem",
    "openai_problem",
    "titan_embedding_problem",
]
