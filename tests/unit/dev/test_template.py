"""template.yaml as the dev runner reads it: the single source of truth for tables and queues."""

from __future__ import annotations

from pathlib import Path

import pytest

from onerouter.dev.template import Template, find_template, load_template

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template(TEMPLATE)


def test_keys_table_is_keyed_by_hash_with_an_account_index(template: Template) -> None:
    keys = template.tables["KeysTable"]

    assert keys.logical_id == "KeysTable"
    assert keys.key_schema == [{"AttributeName": "key_hash", "KeyType": "HASH"}]
    (index,) = [i for i in keys.global_indexes if i["IndexName"] == "by_account"]
    assert index["KeySchema"][0] == {"AttributeName": "account_id", "KeyType": "HASH"}
    assert {"AttributeName": "key_hash", "AttributeType": "S"} in keys.attributes


def test_accounts_table_is_keyed_by_account(template: Template) -> None:
    accounts = template.tables["AccountsTable"]

    assert accounts.key_schema == [{"AttributeName": "account_id", "KeyType": "HASH"}]
    assert {"AttributeName": "account_id", "AttributeType": "S"} in accounts.attributes


def test_ledger_table_is_keyed_by_account_and_entry(template: Template) -> None:
    ledger = template.tables["LedgerTable"]

    assert ledger.key_schema == [
        {"AttributeName": "account_id", "KeyType": "HASH"},
        {"AttributeName": "entry_id", "KeyType": "RANGE"},
    ]


def test_every_key_attribute_is_defined(template: Template) -> None:
    for table in template.tables.values():
        defined = {a["AttributeName"] for a in table.attributes}
        schemas = [table.key_schema] + [i["KeySchema"] for i in table.global_indexes]
        for schema in schemas:
            for key in schema:
                assert key["AttributeName"] in defined, (table.logical_id, key)


def test_only_tables_are_tables_and_only_queues_are_queues(template: Template) -> None:
    assert {"KeysTable", "AccountsTable", "LedgerTable"} <= set(template.tables)
    assert {"UsageQueue", "UsageDeadLetterQueue"} <= set(template.queues)
    assert not set(template.tables) & set(template.queues)
    for other in ("OneRouterApi", "CompletionsFunction", "UsageDeadLetterAlarm"):
        assert other not in template.tables
        assert other not in template.queues


def test_usage_queue_redrives_to_its_dead_letter_queue(template: Template) -> None:
    usage = template.queues["UsageQueue"]
    dead = template.queues["UsageDeadLetterQueue"]

    assert usage.dead_letter_target == "UsageDeadLetterQueue"
    assert usage.max_receive_count == 10
    assert usage.attributes == {"VisibilityTimeout": "120"}
    assert dead.dead_letter_target is None
    assert dead.attributes == {"MessageRetentionPeriod": "1209600"}


def test_globals_environment_refers_to_the_resources(template: Template) -> None:
    env = template.environment

    assert env["KEYS_TABLE"] == {"Ref": "KeysTable"}
    assert env["ACCOUNTS_TABLE"] == {"Ref": "AccountsTable"}
    assert env["LEDGER_TABLE"] == {"Ref": "LedgerTable"}
    assert env["USAGE_TABLE"] == {"Ref": "UsageTable"}
    assert env["ACTIVITY_TABLE"] == {"Ref": "ActivityTable"}
    assert env["USAGE_QUEUE_URL"] == {"Ref": "UsageQueue"}
    assert env["ONEROUTER_ADMIN_TOKEN"] == {"Ref": "AdminToken"}
    assert env["POWERTOOLS_SERVICE_NAME"] == "onerouter"


def test_every_resource_ref_in_the_environment_is_provisioned_locally(template: Template) -> None:
    """Every !Ref in the functions' environment names something the dev runner creates: a
    table, a queue, a user pool or one of its app clients, a KMS key (or the AdminToken
    parameter)."""
    refs = [v["Ref"] for v in template.environment.values() if isinstance(v, dict)]
    pools = {
        name for pool in template.user_pools.values() for name in (pool.logical_id, *pool.clients)
    }
    resources = set(template.tables) | set(template.queues) | pools | set(template.kms_keys)

    assert {"KeysTable", "AccountsTable", "LedgerTable", "UsageQueue"} <= set(refs)
    assert {"UserPool", "UserPoolClient", "LoginsTable"} <= set(refs)
    for ref in refs:
        assert ref in resources or ref == "AdminToken", ref


# ---------------------------------------------------------------- short tags and small templates

SMALL = """\
Globals:
  Function:
    Environment:
      Variables:
        REF: !Ref Thing
        ATT: !GetAtt Queue.Arn
        ATT_LIST: !GetAtt [Queue, QueueName]
        SUB: !Sub "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:q"
        SUB_LIST: !Sub ["${A}-x", {A: !Ref Thing}]
        JOIN: !Join [":", [a, !Ref Thing]]
        IF: !If [IsProd, yes-value, no-value]
        PLAIN: "42"
Resources:
  Sessions:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
      TimeToLiveSpecification:
        AttributeName: expires_at
        Enabled: true
  Cache:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
      TimeToLiveSpecification:
        AttributeName: ttl
        Enabled: false
  Plain:
    Type: AWS::SQS::Queue
"""


@pytest.fixture
def small(tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return load_template(path)


def test_short_tags_parse_to_their_long_forms(small: Template) -> None:
    env = small.environment

    assert env["REF"] == {"Ref": "Thing"}
    assert env["ATT"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert env["ATT_LIST"] == {"Fn::GetAtt": ["Queue", "QueueName"]}
    assert env["SUB"] == {"Fn::Sub": "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:q"}
    assert env["SUB_LIST"] == {"Fn::Sub": ["${A}-x", {"A": {"Ref": "Thing"}}]}
    assert env["JOIN"] == {"Fn::Join": [":", ["a", {"Ref": "Thing"}]]}
    assert env["IF"] == {"Fn::If": ["IsProd", "yes-value", "no-value"]}
    assert env["PLAIN"] == "42"


def test_ttl_attribute_only_when_enabled(small: Template) -> None:
    assert small.tables["Sessions"].ttl_attribute == "expires_at"
    assert small.tables["Cache"].ttl_attribute is None


def test_queue_without_properties_has_no_dead_letter_queue(small: Template) -> None:
    plain = small.queues["Plain"]

    assert plain.dead_letter_target is None
    assert plain.max_receive_count is None
    assert plain.attributes == {}


def test_find_template_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = tmp_path / "elsewhere.yaml"
    monkeypatch.setenv("ONEROUTER_TEMPLATE", str(explicit))

    assert find_template() == explicit


def test_find_template_looks_upwards_from_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONEROUTER_TEMPLATE", raising=False)
    (tmp_path / "template.yaml").write_text(SMALL, encoding="utf-8")
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)

    assert find_template(start) == tmp_path / "template.yaml"


def test_usage_records_are_keyed_by_generation_alone(template: Template) -> None:
    usage = template.tables["UsageTable"]

    assert usage.key_schema == [{"AttributeName": "generation_id", "KeyType": "HASH"}]
    # One index: an account's requests by time, for GET /api/v1/generations.
    (index,) = usage.global_indexes
    assert index["IndexName"] == "by_account"
    assert index["KeySchema"] == [
        {"AttributeName": "account_id", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}


def test_endpoint_stats_are_per_hour_and_endpoint_and_expire(template: Template) -> None:
    stats = template.tables["EndpointStatsTable"]

    assert stats.key_schema == [
        {"AttributeName": "hour", "KeyType": "HASH"},
        {"AttributeName": "endpoint", "KeyType": "RANGE"},
    ]
    assert stats.ttl_attribute == "expires_at"
    assert template.environment["ENDPOINT_STATS_TABLE"] == {"Ref": "EndpointStatsTable"}


def test_activity_is_per_account_and_row(template: Template) -> None:
    activity = template.tables["ActivityTable"]

    assert activity.key_schema == [
        {"AttributeName": "account_id", "KeyType": "HASH"},
        {"AttributeName": "row_key", "KeyType": "RANGE"},
    ]


def test_cache_table_is_keyed_by_lookup_and_expires(template: Template) -> None:
    cache = template.tables["CacheTable"]

    assert cache.key_schema == [{"AttributeName": "lookup", "KeyType": "HASH"}]
    assert cache.attributes == [{"AttributeName": "lookup", "AttributeType": "S"}]
    assert cache.global_indexes == []
    assert cache.ttl_attribute == "expires_at"
    assert template.environment["CACHE_TABLE"] == {"Ref": "CacheTable"}
