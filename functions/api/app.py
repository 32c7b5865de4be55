"""Buffered endpoints (models, health, account, keys, admin): the OneRouter app behind Mangum."""

from mangum import Mangum

from onerouter.api.app import create_app

handler = Mangum(create_app(), lifespan="off")
