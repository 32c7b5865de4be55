"""Rate limits: requests per minute and requests in flight, per account and per key, kept in
DynamoDB so every gateway instance (every Lambda instance) enforces the same limit."""
