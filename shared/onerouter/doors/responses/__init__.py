"""The OpenAI Responses API (`POST /v1/responses`) as a front door of the chat pipeline."""
