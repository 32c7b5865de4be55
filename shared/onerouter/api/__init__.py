"""The HTTP surface: the FastAPI app, its routers, and OpenAI-shaped errors."""
