"""Provisioning an existing store: a table made before the template gained an index gets it;
the KMS key is made once, found again by its alias."""

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


def test_the_kms_key_is_made_once_and_named_in_the_environment(aws: LocalAWS) -> None:
    template = load_template(find_template())
    assert "ProviderKeysKey" in template.kms_keys
    prefix = "onerouter-kms"  # its own, so the key is new here

    first = provision(template, prefix)
    again = provision(template, prefix)  # the alias finds the same key

    key_id = first["ONEROUTER_KMS_KEY_ID"]
    assert again["ONEROUTER_KMS_KEY_ID"] == key_id
    assert first["PROVIDER_KEYS_TABLE"] == table_name(prefix, "ProviderKeysTable")
    kms = boto3.client("kms")
    alias = f"alias/{table_name(prefix, 'ProviderKeysKey')}"
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id
    issued = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert len(issued["Plaintext"]) == 32


def test_the_test_session_has_a_kms_key(aws: LocalAWS) -> None:
    assert aws.environment.get("ONEROUTER_KMS_KEY_ID")
