"""Usage events: one per served request, from the gateway (producer) through SQS to the
consumer that writes the books."""
