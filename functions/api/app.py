"""Buffered endpoints (models, health, admin): the OneRouter app behind Mangum."""

from mangum import Mangum

from onerouter.api.app import create_app

handler = Mangum(create_app(), lifespan="off")
