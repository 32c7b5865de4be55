"""Creating the template's tables, queues, user pools and KMS keys on an AWS endpoint (moto
server, DynamoDB Local), and the environment that points the code at them. Idempotent: what
exists is left alone."""

from __future__ import annotations

import json
from typing import Any

import boto3

from .template import KmsKeySpec, TableSpec, Template, UserPoolSpec

# The user pool and client properties moto's Cognito (and Cognito's API) take as they are.
_POOL_PROPERTIES = (
    "UsernameAttributes",
    "AutoVerifiedAttributes",
    "Policies",
    "AccountRecoverySetting",
)
_CLIENT_PROPERTIES = (
    "ExplicitAuthFlows",
    "GenerateSecret",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
)


def table_name(prefix: str, logical_id: str) -> str:
    return f"{prefix}-{logical_id}"


def provision(template: Template, prefix: str = "onerouter-local") -> dict[str, str]:
    """Creates what is missing; answers the function environment with real names and URLs."""
    dynamodb: Any = boto3.client("dynamodb")
    sqs: Any = boto3.client("sqs")
    names: dict[str, str] = {}
    existing = set(dynamodb.list_tables().get("TableNames", []))
    for spec in template.tables.values():
        name = table_name(prefix, spec.logical_id)
        names[spec.logical_id] = name
        if name in existing:
            _add_missing_indexes(dynamodb, name, spec)
            _enable_ttl(dynamodb, name, spec, check=True)
            continue
        args: dict[str, Any] = {
            "TableName": name,
            "KeySchema": spec.key_schema,
            "AttributeDefinitions": spec.attributes,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if spec.global_indexes:
            args["GlobalSecondaryIndexes"] = spec.global_indexes
        dynamodb.create_table(**args)
        dynamodb.get_waiter("table_exists").wait(TableName=name)
        _enable_ttl(dynamodb, name, spec)
    # Dead-letter queues first: the queues that redrive into them need their ARNs.
    ordered = sorted(template.queues.values(), key=lambda q: q.dead_letter_target is not None)
    arns: dict[str, str] = {}
    for queue in ordered:
        attributes: dict[str, Any] = dict(queue.attributes)
        if queue.dead_letter_target:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arns[queue.dead_letter_target],
                    "maxReceiveCount": queue.max_receive_count or 5,
                }
            )
        url = sqs.create_queue(
            QueueName=table_name(prefix, queue.logical_id), Attributes=attributes
        )["QueueUrl"]
        names[queue.logical_id] = url
        arns[queue.logical_id] = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
    for pool in template.user_pools.values():
        names.update(_user_pool(prefix, pool))
    for key in template.kms_keys.values():
        names[key.logical_id] = _kms_key(prefix, key)
    return _environment(template, names)


def _user_pool(prefix: str, spec: UserPoolSpec) -> dict[str, str]:
    """The pool (found by name, else created) and its app clients: logical id -> real id."""
    cognito: Any = boto3.client("cognito-idp")
    name = table_name(prefix, spec.logical_id)
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    pool_id = next((p["Id"] for p in pools if p["Name"] == name), None)
    if pool_id is None:
        props = {k: v for k, v in spec.properties.items() if k in _POOL_PROPERTIES}
        pool_id = cognito.create_user_pool(PoolName=name, **props)["UserPool"]["Id"]
    ids = {spec.logical_id: pool_id}
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)
    existing = {c["ClientName"]: c["ClientId"] for c in clients["UserPoolClients"]}
    for logical_id, client in spec.clients.items():
        client_name = client.get("ClientName") or logical_id
        client_id = existing.get(client_name)
        if client_id is None:
            props = {k: v for k, v in client.items() if k in _CLIENT_PROPERTIES}
            client_id = cognito.create_user_pool_client(
                UserPoolId=pool_id, ClientName=client_name, **props
            )["UserPoolClient"]["ClientId"]
        ids[logical_id] = client_id
    return ids


def _kms_key(prefix: str, spec: KmsKeySpec) -> str:
    """The key's id: the one its alias names, else a new symmetric key under that alias."""
    kms: Any = boto3.client("kms")
    alias = f"alias/{table_name(prefix, spec.logical_id)}"
    try:
        key_id: str = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
        return key_id
    except kms.exceptions.NotFoundException:
        pass
    created = kms.create_key(
        Description=spec.description or spec.logical_id,
        KeySpec="SYMMETRIC_DEFAULT",
        KeyUsage="ENCRYPT_DECRYPT",
    )
    key_id = created["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id


def _enable_ttl(dynamodb: Any, name: str, spec: TableSpec, check: bool = False) -> None:
    """Turns on the template's TTL; on an existing table (made before the template had one,
    say the cache's) only when it is not on already, as DynamoDB refuses to set it twice."""
    if not spec.ttl_attribute:
        return
    if check:
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            return
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
    )


def _add_missing_indexes(dynamodb: Any, name: str, spec: TableSpec) -> None:
    """A store made before the template gained an index (say the ledger's by_expiry) gets it:
    created from the template's definition, one at a time, as DynamoDB requires."""
    table = dynamodb.describe_table(TableName=name)["Table"]
    present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in spec.global_indexes:
        if index["IndexName"] in present:
            continue
        keys = {key["AttributeName"] for key in index["KeySchema"]}
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=[a for a in spec.attributes if a["AttributeName"] in keys],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        dynamodb.get_waiter("table_exists").wait(TableName=name)


def _environment(template: Template, names: dict[str, str]) -> dict[str, str]:
    """The template's variables that name a table or queue, with the names just provisioned."""
    env: dict[str, str] = {}
    for variable, value in template.environment.items():
        if isinstance(value, dict) and value.get("Ref") in names:
            env[variable] = names[value["Ref"]]
    return env
