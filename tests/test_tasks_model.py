"""Task definitions: validation at the edge, names, secrets never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rookdb import Instance
from rookdb.errors import InvalidInput, NotFound
from rookdb.tasks import BackupTasks, ManualClock


@pytest.fixture
def service(instance: Instance) -> BackupTasks:
    instance.create_database("shop")
    return BackupTasks(instance, clock=ManualClock("2026-11-22T10:00:00Z"))


def body(tmp_path: Path, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "full_backup_cron": "0 2 * * *",
        "destinations": [{"kind": "local", "path": str(tmp_path / "backups")}],
    }
    return {**base, **fields}


def test_create_assigns_an_id_and_a_generated_name(service: BackupTasks, tmp_path: Path) -> None:
    task = service.create("shop", body(tmp_path))
    assert task["id"].startswith("t-") and len(task["id"]) == 6
    assert task["name"] == f"Backup to Local ({tmp_path / 'backups'})"
    assert task["type"] == "backup" and task["compression"] == "zstd"
    assert service.get("shop", task["id"]) == task
    second = service.create("shop", body(tmp_path, type="snapshot"))
    assert second["name"].startswith("Snapshot to Local (")


def test_generated_names_stay_unique(service: BackupTasks, tmp_path: Path) -> None:
    a = service.create("shop", body(tmp_path))
    b = service.create("shop", body(tmp_path))
    assert a["name"] != b["name"] and b["name"].endswith("#2")


def test_a_long_generated_name_is_cut_short_and_the_task_stays_usable(
    service: BackupTasks, tmp_path: Path
) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4)
    many = [{"kind": "local", "path": str(deep / str(n))} for n in range(6)]
    first = service.create("shop", body(tmp_path, destinations=many))
    second = service.create("shop", body(tmp_path, destinations=many))
    for task in (first, second):
        assert len(task["name"]) <= 200 and task["name"].startswith("Backup to Local (")
        assert service.get("shop", task["id"])["name"] == task["name"]
    assert first["name"].endswith("…") and second["name"].endswith("… #2")
    assert len(service.list("shop")) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"full_backup_cron": "0 2 * *"}, "full_backup_cron"),
        ({"full_backup_cron": "99 2 * * *"}, "full_backup_cron"),
        ({"incremental_backup_cron": "0 0 0 * * *"}, "incremental_backup_cron"),
        ({"full_backup_cron": None}, "full_backup_cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"destinations": []}, "destinations"),
        ({"destinations": [{"kind": "local"}]}, "destinations.0.path"),
        ({"surprise": 1}, "surprise"),
        ({"type": "copy"}, "type"),
        ({"retention": {"keep_full_chains": 0}}, "retention.keep_full_chains"),
        ({"retention": {"keep_full_chains": 10**23}}, "retention.keep_full_chains"),
        ({"retention": {"max_age_days": 1e300}}, "retention.max_age_days"),
        ({"retention": {"forever": True}}, "retention.forever"),
    ],
)
def test_invalid_input_names_the_field_and_stores_nothing(
    service: BackupTasks, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.create("shop", body(tmp_path, **change))
    assert caught.value.field == field
    assert caught.value.http_status == 400
    assert service.list("shop") == []


def test_duplicate_name_is_rejected(service: BackupTasks, tmp_path: Path) -> None:
    service.create("shop", body(tmp_path, name="Nightly"))
    with pytest.raises(InvalidInput) as caught:
        service.create("shop", body(tmp_path, name="nightly"))
    assert caught.value.field == "name"
    assert len(service.list("shop")) == 1


def test_unknown_database_or_task_is_not_found(service: BackupTasks, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        service.create("nope", body(tmp_path))
    with pytest.raises(NotFound):
        service.get("shop", "t-0000")


def test_encryption_key_is_write_only(service: BackupTasks, tmp_path: Path) -> None:
    task = service.create("shop", body(tmp_path, encryption_key="hunter2-secret"))
    assert task["encryption_key"] is None and task["has_encryption_key"] is True
    assert "hunter2-secret" not in repr(service.list("shop"))
    # GET → edit → PUT keeps the key; "" removes it.
    edited = service.update("shop", task["id"], {**task, "name": "Renamed"})
    assert edited["name"] == "Renamed" and edited["has_encryption_key"] is True
    cleared = service.update("shop", task["id"], {**edited, "encryption_key": ""})
    assert cleared["has_encryption_key"] is False


def test_update_validates_and_keeps_identity(service: BackupTasks, tmp_path: Path) -> None:
    task = service.create("shop", body(tmp_path))
    with pytest.raises(InvalidInput):
        service.update("shop", task["id"], {**task, "full_backup_cron": "bad"})
    assert service.get("shop", task["id"]) == task
    updated = service.update("shop", task["id"], {**task, "incremental_backup_cron": "0 * * * *"})
    assert updated["id"] == task["id"] and updated["created_at"] == task["created_at"]


def test_enable_disable_and_delete(service: BackupTasks, tmp_path: Path) -> None:
    task = service.create("shop", body(tmp_path))
    assert service.disable("shop", task["id"])["state"] == "disabled"
    assert service.status("shop", task["id"])["next_backup"] is None
    assert service.enable("shop", task["id"])["state"] == "active"
    service.delete("shop", task["id"])
    assert service.list("shop") == []
    with pytest.raises(NotFound):
        service.status("shop", task["id"])


def test_destination_secrets_are_masked_and_kept_on_update(
    service: BackupTasks, tmp_path: Path
) -> None:
    s3 = {
        "kind": "s3",
        "bucket": "nightly",
        "endpoint_url": "http://127.0.0.1:9",
        "access_key_id": "AKIAEXAMPLE",
        "secret_access_key": "very-secret-key-123",
    }
    task = service.create("shop", body(tmp_path, destinations=[s3]))
    assert task["name"] == "Backup to S3 (nightly)"
    assert task["destinations"][0]["secret_access_key"] == "********"
    assert "very-secret-key-123" not in repr(service.list("shop"))
    service.update("shop", task["id"], {**task, "name": "Nightly S3"})
    stored = service.tasks.get("shop", task["id"]).destination_dicts()[0]
    assert stored["secret_access_key"] == "very-secret-key-123"


def test_bad_destination_field_is_named(service: BackupTasks, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.create("shop", body(tmp_path, destinations=[{"kind": "s3"}]))
    assert caught.value.field == "destinations.0.bucket"
    with pytest.raises(InvalidInput) as caught:
        service.create("shop", body(tmp_path, destinations=[{"kind": "tape"}]))
    assert caught.value.field == "destinations.0.kind"
