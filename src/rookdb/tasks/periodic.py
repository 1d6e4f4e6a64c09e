"""The older periodic-backup setup (an S3 bucket or a Glacier vault, an interval) as a task.

Seed 002's configuration: a setup names an S3 bucket or a Glacier vault and
an interval, and the AWS keys come from the database's settings. Here it
becomes an ordinary backup task: type backup, only an incremental cron (so
the first run is a full, as the scheduling rules already do), one
destination. Glacier wins when both a vault and a bucket are given.

rookdb keeps no per-database settings store: the AWS keys are given with
the setup, and stored (sealed, like every task secret) in the periodic
task's destination. Setting the periodic backup again without keys reuses
the stored ones, so the task plays the part of the database's AWS settings.

The interval must map onto a cron exactly; other intervals are refused
rather than approximated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.errors import InvalidInput
from rookdb.tasks.service import BackupTasks

ACCEPTED_INTERVALS = (
    "accepted intervals: minutes that divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), "
    "whole hours that divide 24 (60, 120, 180, 240, 360, 480, 720) or 1440 (daily)"
)

# Every accepted spelling -> the name used here (the seed's PascalCase, RavenDB's setting keys).
SETUP_FIELDS = {
    "s3_bucket_name": "s3_bucket_name",
    "S3BucketName": "s3_bucket_name",
    "glacier_vault_name": "glacier_vault_name",
    "GlacierVaultName": "glacier_vault_name",
    "interval_minutes": "interval_minutes",
    "IntervalMinutes": "interval_minutes",
    "interval_milliseconds": "interval_milliseconds",
    "IntervalMilliseconds": "interval_milliseconds",
    "aws_region": "aws_region",
    "AwsRegion": "aws_region",
    "AwsRegionEndpoint": "aws_region",
    "s3_prefix": "s3_prefix",
    "S3Prefix": "s3_prefix",
}
AWS_FIELDS = {
    "aws_access_key": "aws_access_key",
    "AwsAccessKey": "aws_access_key",
    "Raven/AWSAccessKey": "aws_access_key",
    "aws_secret_key": "aws_secret_key",
    "AwsSecretKey": "aws_secret_key",
    "Raven/AWSSecretKey": "aws_secret_key",
    "aws_region": "aws_region",
    "AwsRegion": "aws_region",
    # Not in the seed: an S3-compatible store (or an emulator) instead of AWS.
    "endpoint_url": "endpoint_url",
    "EndpointUrl": "endpoint_url",
}
PERIODIC_NAMESPACE = "periodic-backups"  # system store: database -> {"task_id": ...}
_MS_PER_MINUTE = 60_000


def interval_cron(minutes: int) -> str:
    """The cron that fires every `minutes` exactly; InvalidInput for any other interval."""
    if minutes > 0 and minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    if minutes == 1440:
        return "0 0 * * *"
    hours, rest = divmod(minutes, 60)
    if minutes > 0 and rest == 0 and hours < 24 and 24 % hours == 0:
        return f"0 */{hours} * * *"
    raise InvalidInput(
        f"an interval of {minutes} minutes cannot be a schedule: {ACCEPTED_INTERVALS}",
        field="interval_minutes",
    )


def periodic_task_payload(setup: Mapping[str, Any], aws: Mapping[str, Any]) -> dict[str, Any]:
    """The backup task payload for a periodic-backup setup and the AWS settings."""
    fields = _canonical(setup, SETUP_FIELDS, "setup")
    keys = _canonical(aws, AWS_FIELDS, "AWS settings")
    cron = interval_cron(_interval_minutes(fields))
    access_key, secret_key = keys.get("aws_access_key"), keys.get("aws_secret_key")
    if not access_key or not secret_key:
        missing = " and ".join(
            n for n, v in (("aws_access_key", access_key), ("aws_secret_key", secret_key)) if not v
        )
        raise InvalidInput(
            f"{missing} missing: the periodic backup needs AWS keys (give them with the setup; "
            "a later change without keys keeps the stored ones)",
            field="aws_access_key" if not access_key else "aws_secret_key",
        )
    common: dict[str, Any] = {
        "region": fields.get("aws_region") or keys.get("aws_region") or None,
        "access_key_id": access_key,
        "secret_access_key": secret_key,
    }
    if keys.get("endpoint_url"):
        common["endpoint_url"] = keys["endpoint_url"]
    vault, bucket = fields.get("glacier_vault_name"), fields.get("s3_bucket_name")
    if vault:  # the seed's rule: a vault wins over a bucket
        destination = {"kind": "glacier", "vault": vault, **common}
    elif bucket:
        destination = {"kind": "s3", "bucket": bucket, "prefix": fields.get("s3_prefix") or ""}
        destination.update(common)
    else:
        raise InvalidInput(
            "the periodic backup needs s3_bucket_name or glacier_vault_name",
            field="s3_bucket_name",
        )
    return {"type": "backup", "incremental_backup_cron": cron, "destinations": [destination]}


def split_request(body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One flat request (setup fields and AWS settings together) as (setup, aws settings)."""
    if not isinstance(body, Mapping):
        raise InvalidInput("the periodic backup setup is a JSON object", field="setup")
    setup = {k: v for k, v in body.items() if k in SETUP_FIELDS}
    aws = {k: v for k, v in body.items() if k in AWS_FIELDS}
    unknown = sorted(k for k in body if k not in SETUP_FIELDS and k not in AWS_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(set(SETUP_FIELDS.values()) | set(AWS_FIELDS.values())))
        raise InvalidInput(f"unknown field {unknown[0]!r} (allowed: {allowed})", field=unknown[0])
    return setup, aws


def put_periodic_backup(
    tasks: BackupTasks, database: str, setup: Mapping[str, Any], aws: Mapping[str, Any]
) -> dict[str, Any]:
    """Create or replace the database's periodic backup task; returns it (secrets masked)."""
    tasks.instance.database(database)  # NotFound names the database first
    system = tasks.instance.system
    entry = system.get(PERIODIC_NAMESPACE, database.lower())
    task_id = entry.value.get("task_id") if entry else None
    if task_id and not tasks.tasks.exists(database, task_id):
        task_id = None  # deleted by hand since: start afresh
    stored = tasks.tasks.get(database, task_id).destination_dicts()[0] if task_id else {}
    payload = periodic_task_payload(setup, _with_stored_keys(aws, stored))
    if task_id:
        return tasks.update(database, task_id, payload)
    created = tasks.create(database, payload)
    system.put(PERIODIC_NAMESPACE, database.lower(), {"task_id": created["id"]})
    return created


def _with_stored_keys(aws: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    # Keys left out of a change are the ones the periodic task already holds.
    given = _canonical(aws, AWS_FIELDS, "AWS settings")
    if not given.get("aws_access_key") and not given.get("aws_secret_key"):
        if given.get("endpoint_url", stored.get("endpoint_url")) != stored.get("endpoint_url"):
            # The keys are AWS's (any bucket or vault), never another server's.
            raise InvalidInput(
                "aws_secret_key: the endpoint_url changed; give the AWS keys again",
                field="aws_secret_key",
            )
        given["aws_access_key"] = stored.get("access_key_id")
        given["aws_secret_key"] = stored.get("secret_access_key")
        given.setdefault("endpoint_url", stored.get("endpoint_url"))
    return given


def _canonical(values: Mapping[str, Any], names: Mapping[str, str], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            allowed = ", ".join(sorted(set(names.values())))
            raise InvalidInput(f"unknown {what} field {key!r} (allowed: {allowed})", field=key)
        if value is None or value == "":
            continue
        name = names[key]
        if name in out and out[name] != value:
            raise InvalidInput(f"{key!r} and another spelling of {name} disagree", field=name)
        out[name] = value
    return out


def _interval_minutes(fields: Mapping[str, Any]) -> int:
    minutes, millis = fields.get("interval_minutes"), fields.get("interval_milliseconds")
    if minutes is None and millis is None:
        raise InvalidInput(
            f"interval_minutes is required ({ACCEPTED_INTERVALS})", field="interval_minutes"
        )
    if millis is None:
        return _whole_number(minutes, "interval_minutes")
    value = _whole_number(millis, "interval_milliseconds")
    if value % _MS_PER_MINUTE:
        raise InvalidInput(
            f"interval_milliseconds {value} is not a whole number of minutes: {ACCEPTED_INTERVALS}",
            field="interval_milliseconds",
        )
    if minutes is not None and _whole_number(minutes, "interval_minutes") * _MS_PER_MINUTE != value:
        raise InvalidInput(
            "interval_minutes and interval_milliseconds disagree; give one of them",
            field="interval_minutes",
        )
    return value // _MS_PER_MINUTE


def _whole_number(value: Any, field: str) -> int:
    # bool is an int in Python; `true` minutes is a mistake, not 1.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(f"{field} must be a whole number", field=field)
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number, not {value!r}", field=field) from None
