"""Stripe's webhook (/api/v1/billing/stripe/webhook): the webhook-only app behind Mangum.

Powertools' Logger turns every onerouter.* log line into JSON with the request id.
"""

from aws_lambda_powertools import Logger
from mangum import Mangum

from onerouter.api.webhook_app import create_webhook_app

logger = Logger()
serve = Mangum(create_webhook_app(), lifespan="off")


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return serve(event, context)
