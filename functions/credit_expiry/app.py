"""Credit expiry: once a day (EventBridge schedule), expires what is left of credit lots a year
old, oldest first, with ledger entries (onerouter.billing.expiry, onerouter.billing.lots)."""

from aws_lambda_powertools import Logger

from onerouter.billing.expiry import make_handler

logger = Logger()
expire = make_handler()


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return expire(event, context)
