"""The model catalog and how a request finds the provider endpoints that can serve it."""
