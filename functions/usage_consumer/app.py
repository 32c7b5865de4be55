"""Usage consumer: SQS batches of usage events, billed per account (onerouter.usage.consumer).

Powertools' Logger on the service's logger ("onerouter", from POWERTOOLS_SERVICE_NAME) turns
every onerouter.* log line into JSON with the invocation's request id.
"""

from aws_lambda_powertools import Logger

from onerouter.usage.consumer import make_handler

logger = Logger()
consume = make_handler()


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return consume(event, context)
