"""The older periodic-backup setup (seed 002) becomes an incremental backup task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from rookdb import Instance
from rookdb.cli.main import app
from rookdb.errors import InvalidInput
from rookdb.server import ServerThread
from rookdb.tasks import BackupTasks
from rookdb.tasks.model import generated_name, parse_task
from rookdb.tasks.periodic import (
    interval_cron,
    periodic_task_payload,
    put_periodic_backup,
)

AWS = {
    "aws_access_key": "AKIAPERIODIC0001",
    "aws_secret_key": "periodic-Secret-9",
    "aws_region": "eu-west-1",
}


@pytest.mark.parametrize(
    "minutes, cron",
    [
        (1, "*/1 * * * *"),
        (5, "*/5 * * * *"),
        (15, "*/15 * * * *"),
        (30, "*/30 * * * *"),
        (60, "0 */1 * * *"),
        (120, "0 */2 * * *"),
        (360, "0 */6 * * *"),
        (720, "0 */12 * * *"),
        (1440, "0 0 * * *"),
    ],
)
def test_intervals_that_divide_the_hour_or_the_day_become_crons(minutes: int, cron: str) -> None:
    assert interval_cron(minutes) == cron


@pytest.mark.parametrize("minutes", [0, -15, 7, 45, 90, 300, 1000, 2880])
def test_other_intervals_are_refused_saying_which_are_accepted(minutes: int) -> None:
    with pytest.raises(InvalidInput, match="accepted intervals: minutes that divide 60") as info:
        interval_cron(minutes)
    assert f"{minutes} minutes" in info.value.message and info.value.field == "interval_minutes"


def test_s3_setup_becomes_a_valid_incremental_only_task() -> None:
    payload = periodic_task_payload(
        {"s3_bucket_name": "nightly", "interval_minutes": 15, "s3_prefix": "shop"}, AWS
    )
    assert payload == {
        "type": "backup",
        "incremental_backup_cron": "*/15 * * * *",
        "destinations": [
            {
                "kind": "s3",
                "bucket": "nightly",
                "prefix": "shop",
                "region": "eu-west-1",
                "access_key_id": "AKIAPERIODIC0001",
                "secret_access_key": "periodic-Secret-9",
            }
        ],
    }
    task = parse_task(payload)
    assert task.full_backup_cron is None
    assert generated_name(task) == "Backup to S3 (nightly)"


def test_glacier_wins_when_both_are_given_and_the_setup_region_wins() -> None:
    payload = periodic_task_payload(
        {
            "s3_bucket_name": "b",
            "glacier_vault_name": "v",
            "interval_minutes": 60,
            "aws_region": "us-west-2",
        },
        AWS,
    )
    [destination] = payload["destinations"]
    assert destination["kind"] == "glacier" and destination["vault"] == "v"
    assert destination["region"] == "us-west-2" and "bucket" not in destination
    parse_task(payload)


def test_the_seeds_pascal_case_names_and_milliseconds() -> None:
    payload = periodic_task_payload(
        {"GlacierVaultName": "archive", "IntervalMilliseconds": 6 * 3600 * 1000},
        {"Raven/AWSAccessKey": "AKIAX", "Raven/AWSSecretKey": "s3cr3t-x"},
    )
    assert payload["incremental_backup_cron"] == "0 */6 * * *"
    [destination] = payload["destinations"]
    assert (destination["kind"], destination["vault"]) == ("glacier", "archive")
    assert destination["access_key_id"] == "AKIAX" and destination["region"] is None
    pascal = periodic_task_payload(
        {"S3BucketName": "b", "IntervalMinutes": 1440}, {"AwsAccessKey": "k", "AwsSecretKey": "s"}
    )
    assert pascal["destinations"][0]["bucket"] == "b"


@pytest.mark.parametrize(
    "setup, aws, field, text",
    [
        ({"s3_bucket_name": "b", "interval_minutes": 15}, {}, "aws_access_key", "missing"),
        (
            {"s3_bucket_name": "b", "interval_minutes": 15},
            {"aws_access_key": "k"},
            "aws_secret_key",
            "aws_secret_key missing",
        ),
        ({"interval_minutes": 15}, AWS, "s3_bucket_name", "s3_bucket_name or glacier_vault_name"),
        ({"s3_bucket_name": "b"}, AWS, "interval_minutes", "interval_minutes is required"),
        ({"s3_bucket_name": "b", "interval_minutes": 45}, AWS, "interval_minutes", "45 minutes"),
        (
            {"s3_bucket_name": "b", "IntervalMilliseconds": 90_000},
            AWS,
            "interval_milliseconds",
            "not a whole number of minutes",
        ),
        ({"s3_bucket_name": "b", "interval_minutes": True}, AWS, "interval_minutes", "whole"),
        ({"s3_bucket_name": "b", "interval_minutes": "soon"}, AWS, "interval_minutes", "whole"),
        ({"bucket": "b", "interval_minutes": 15}, AWS, "bucket", "unknown setup field"),
        (
            {"s3_bucket_name": "a", "S3BucketName": "b", "interval_minutes": 15},
            AWS,
            "s3_bucket_name",
            "disagree",
        ),
    ],
)
def test_bad_setups_name_the_field(
    setup: dict[str, Any], aws: dict[str, Any], field: str, text: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        periodic_task_payload(setup, aws)
    assert info.value.field == field and text in info.value.message
    assert "periodic-Secret-9" not in info.value.message


def test_put_creates_then_replaces_the_one_periodic_task_keeping_stored_keys(
    instance: Instance,
) -> None:
    instance.create_database("shop")
    tasks = BackupTasks(instance)
    try:
        first = put_periodic_backup(
            tasks, "shop", {"S3BucketName": "b", "IntervalMinutes": 15}, AWS
        )
        assert first["destinations"][0]["secret_access_key"] == "********"
        # A change without keys: the periodic task's stored keys are used.
        second = put_periodic_backup(
            tasks, "shop", {"GlacierVaultName": "v", "interval_minutes": 60}, {}
        )
        assert second["id"] == first["id"]
        assert [t["id"] for t in tasks.list("shop")] == [first["id"]]
        assert second["incremental_backup_cron"] == "0 */1 * * *"
        [stored] = tasks.tasks.get("shop", first["id"]).destination_dicts()
        assert stored["kind"] == "glacier"
        assert (stored["access_key_id"], stored["secret_access_key"]) == (
            "AKIAPERIODIC0001",
            "periodic-Secret-9",
        )
        assert second["name"] == "Backup to Glacier (v)"
        tasks.delete("shop", first["id"])  # deleted by hand: the next setup starts afresh
        third = put_periodic_backup(tasks, "shop", {"S3BucketName": "c", "IntervalMinutes": 5}, AWS)
        assert third["id"] != first["id"]
        tasks.delete("shop", third["id"])
        with pytest.raises(InvalidInput, match="missing"):  # no keys given, none stored
            put_periodic_backup(tasks, "shop", {"S3BucketName": "c", "IntervalMinutes": 5}, {})
    finally:
        tasks.scheduler.stop()


def test_http_route_creates_and_refuses(http: httpx.Client) -> None:
    assert http.post("/databases", json={"name": "shop"}).status_code == 201
    body = {"S3BucketName": "nightly", "IntervalMilliseconds": 900_000, **AWS}
    answer = http.put("/databases/shop/tasks/periodic-backup", json=body)
    assert answer.status_code == 200, answer.text
    task = answer.json()
    assert task["incremental_backup_cron"] == "*/15 * * * *" and task["full_backup_cron"] is None
    assert "periodic-Secret-9" not in answer.text
    again = http.put("/databases/shop/tasks/periodic-backup", json={**body, "interval_minutes": 30})
    assert again.status_code == 400 and "disagree" in again.json()["message"]
    bad = http.put(
        "/databases/shop/tasks/periodic-backup",
        json={"S3BucketName": "nightly", "interval_minutes": 7},
    )
    assert bad.status_code == 400 and "accepted intervals" in bad.json()["message"]
    assert http.get("/databases/shop/tasks/backups").json()["tasks"][0]["id"] == task["id"]
    missing = http.put("/databases/nope/tasks/periodic-backup", json=body)
    assert missing.status_code == 404


def test_cli_periodic_embedded(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(app, ["--data-dir", data, "db", "create", "shop"]).exit_code == 0
    args = ["--data-dir", data, "backup", "tasks", "periodic", "shop", "--s3-bucket", "b"]
    keys = [
        "--aws-access-key",
        "AKIAK",
        "--aws-secret-key",
        "cli-Secret-3",
        "--aws-region",
        "eu-north-1",
    ]
    result = runner.invoke(
        app, [*args, "--glacier-vault", "v", "--interval-minutes", "120", *keys, "--json"]
    )
    assert result.exit_code == 0, result.output
    task = json.loads(result.stdout)
    assert task["incremental_backup_cron"] == "0 */2 * * *"
    assert task["destinations"][0]["kind"] == "glacier"
    assert task["destinations"][0]["region"] == "eu-north-1"
    assert "cli-Secret-3" not in result.output
    result = runner.invoke(app, [*args, "--interval-minutes", "1440"])
    assert result.exit_code == 0 and result.stdout.strip() == task["id"]
    result = runner.invoke(app, [*args, "--interval-minutes", "100"])
    assert result.exit_code == 1 and isinstance(result.exception, InvalidInput)


def test_cli_periodic_against_a_server(live_server: ServerThread) -> None:
    runner = CliRunner()
    target = ["--url", live_server.url]
    assert runner.invoke(app, [*target, "db", "create", "shop"]).exit_code == 0
    args = [*target, "backup", "tasks", "periodic", "shop", "--s3-bucket", "b"]
    keys = ["--aws-access-key", "AKIAK", "--aws-secret-key", "cli-Secret-3"]
    first = runner.invoke(app, [*args, "--interval-minutes", "10", *keys])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, [*args, "--interval-minutes", "20", "--json"])
    assert second.exit_code == 0, second.output
    task = json.loads(second.stdout)
    assert task["id"] == first.stdout.strip()
    assert task["incremental_backup_cron"] == "*/20 * * * *"
    assert "cli-Secret-3" not in first.output + second.output
