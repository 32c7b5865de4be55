"""Accounts and their API keys: issuing keys, and recognising them on every request."""
