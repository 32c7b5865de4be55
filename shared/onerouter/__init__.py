"""OneRouter: one OpenAI-compatible endpoint in front of many LLM providers."""

__version__ = "0.1.0"
