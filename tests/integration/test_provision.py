"""Provisioning an existing store: a table made before the template gained an index gets it."""

from __future__ import annotations

import boto3

from onerouter.dev.aws import LocalAWS
from onerouter.dev.provision import provision, table_name
from onerouter.dev.template import find_template, load_template


def test_an_existing_ledger_table_gets_the_expiry_index(aws: LocalAWS) -> None:
    template = load_template(find_template())
    ledger = template.tables["LedgerTable"]
    prefix = "onerouter-older"
    dynamodb = boto3.client("dynamodb")
    name = table_name(prefix, "LedgerTable")
    keys = {key["AttributeName"] for key in ledger.key_schema}
    dynamodb.create_table(
        TableName=name,
        KeySchema=ledger.key_schema,
        AttributeDefinitions=[a for a in ledger.attributes if a["AttributeName"] in keys],
        BillingMode="PAY_PER_REQUEST",
    )

    provision(template, prefix)
    provision(template, prefix)  # and again: nothing left to add

    table = dynamodb.describe_table(TableName=name)["Table"]
    assert [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])] == ["by_expiry"]


def test_an_existing_cache_table_gets_its_ttl(aws: LocalAWS) -> None:
    template = load_template(find_template())
    cache = template.tables["CacheTable"]
    prefix = "onerouter-older-cache"  # its own: the test above provisions its prefix whole
    dynamodb = boto3.client("dynamodb")
    name = table_name(prefix, "CacheTable")
    dynamodb.create_table(
        TableName=name,
        KeySchema=cache.key_schema,
        AttributeDefinitions=cache.attributes,
        BillingMode="PAY_PER_REQUEST",
    )

    provision(template, prefix)
    provision(template, prefix)  # and again: already on, left alone

    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
