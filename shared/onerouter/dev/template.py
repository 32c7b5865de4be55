"""Reading template.yaml, the single source of truth for tables, queues and their wiring.

The dev runner creates exactly the tables and queues the template declares, and sets the
environment variables the template gives every function, so local and deployed code agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref X) as their long forms ({"Ref": "X"})."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _tag)


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    key_schema: list[dict[str, str]]
    attributes: list[dict[str, str]]
    global_indexes: list[dict[str, Any]] = field(default_factory=list)
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    attributes: dict[str, str]
    dead_letter_target: str | None = None
    max_receive_count: int | None = None


@dataclass(frozen=True)
class UserPoolSpec:
    """A Cognito user pool and its app clients (logical id -> their CloudFormation properties)."""

    logical_id: str
    properties: dict[str, Any]
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class KmsKeySpec:
    """A symmetric KMS key (the envelope key of stored provider keys): locally, one per alias."""

    logical_id: str
    description: str = ""


@dataclass(frozen=True)
class Template:
    tables: dict[str, TableSpec]
    queues: dict[str, QueueSpec]
    # Function environment: variable -> the logical id it references (!Ref), or a literal.
    environment: dict[str, Any]
    user_pools: dict[str, UserPoolSpec] = field(default_factory=dict)
    kms_keys: dict[str, KmsKeySpec] = field(default_factory=dict)


def find_template(start: Path | None = None) -> Path:
    """template.yaml: $ONEROUTER_TEMPLATE, else the nearest one above `start` or this package."""
    explicit = os.environ.get("ONEROUTER_TEMPLATE")
    if explicit:
        return Path(explicit)
    for base in (start or Path.cwd(), Path(__file__).resolve()):
        for folder in (base, *base.parents):
            candidate = folder / "template.yaml"
            if candidate.is_file():
                return candidate
    raise FileNotFoundError("template.yaml not found; set ONEROUTER_TEMPLATE to its path")


def load_template(path: Path) -> Template:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)
    resources: dict[str, Any] = document.get("Resources", {})
    tables: dict[str, TableSpec] = {}
    queues: dict[str, QueueSpec] = {}
    pools: dict[str, UserPoolSpec] = {}
    kms_keys: dict[str, KmsKeySpec] = {}
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        props = resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            ttl = props.get("TimeToLiveSpecification") or {}
            tables[logical_id] = TableSpec(
                logical_id=logical_id,
                key_schema=props["KeySchema"],
                attributes=props["AttributeDefinitions"],
                global_indexes=props.get("GlobalSecondaryIndexes", []),
                ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
            )
        elif kind == "AWS::SQS::Queue":
            redrive = props.get("RedrivePolicy") or {}
            target = redrive.get("deadLetterTargetArn")
            queues[logical_id] = QueueSpec(
                logical_id=logical_id,
                attributes={
                    k: str(v)
                    for k, v in props.items()
                    if k in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
                },
                dead_letter_target=target["Fn::GetAtt"][0] if isinstance(target, dict) else None,
                max_receive_count=redrive.get("maxReceiveCount"),
            )
        elif kind == "AWS::KMS::Key":
            kms_keys[logical_id] = KmsKeySpec(logical_id, str(props.get("Description", "")))
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::Cognito::UserPool":
            pools[logical_id] = UserPoolSpec(logical_id, resource.get("Properties", {}))
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Cognito::UserPoolClient":
            pool = props.get("UserPoolId", {}).get("Ref")
            if pool in pools:
                pools[pool].clients[logical_id] = props
    globals_env = (
        document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    return Template(tables, queues, dict(globals_env), pools, kms_keys)
