"""`rookdb.Client` for the backup explorer and the alerts: typed answers from a real server on
loopback, the same values as embedded, the roles' limits raised as their RookError."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts_receivers import WebhookReceiver, wait_for
from explorer_chains import Chain, make_chain
from rookdb import Client, Instance
from rookdb.alerts.channels import MASK
from rookdb.alerts.incidents import Incident
from rookdb.alerts.outbox import DeliveryRecord
from rookdb.alerts.service import INTERVAL_ENV
from rookdb.errors import Forbidden, InvalidInput, NotFound
from rookdb.explorer import FoundDocument, open_backup
from rookdb.server import ServerThread

from .conftest import Keys

KEY = "correct horse battery staple"


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return make_chain(tmp_path / "made", count=300)


def test_a_reader_explores_with_the_same_answers_as_embedded(
    secure_server: ServerThread, keys: Keys, chain: Chain
) -> None:
    source = str(chain.folder)
    with Client(secure_server.url, api_key=keys.reader) as remote:
        backup = remote.open_backup(source, chain.files[1])
        with open_backup(source, chain.files[1]) as local:
            found = backup.get("orders/1041")
            assert isinstance(found, FoundDocument)
            assert found.to_json() == local.get("orders/1041").to_json()
            assert found.body == {"total": 1041, "status": "paid"}
            assert backup.point == local.point.describe()
            assert backup.history("orders/1041") == local.history("orders/1041")
            listed = list(backup.documents(prefix="orders/1", page_size=7))
            assert [d.to_json() for d in listed] == [
                d.to_json() for d in local.documents(prefix="orders/1")
            ]
            assert len(listed) > 7  # several pages were fetched
        deleted = remote.open_backup(source).get("orders/1041")
        assert deleted.deleted and deleted.document is None and chain.files[2] in deleted.file_name

        content = remote.open_backup(source).attachment("orders/7", "receipt.txt")
        assert b"".join(content.chunks) == b"paid 7 EUR\n" * 300
        assert content.info.file_name == chain.files[0] and content.info.size == 3300

        diff = remote.open_backup(source, chain.files[0]).diff(collection="Orders")
        assert diff.complete
        assert (diff.statistics.added, diff.statistics.changed, diff.statistics.deleted) == (
            1,
            1,
            1,
        )
        assert {(r.change, r.id) for r in diff.rows} == {
            ("added", "orders/new"), ("changed", "orders/7"), ("deleted", "orders/5"),
        }  # fmt: skip

        with pytest.raises(NotFound, match="not in this backup at that point"):
            backup.get("orders/x")
        with pytest.raises(InvalidInput, match="absolute path"):
            remote.open_backup("relative/backups").get("orders/1")
        # A reader browses; putting documents back is an operator's.
        with pytest.raises(Forbidden):
            backup.restore_into("shop", ids=["orders/1041"])


def test_an_operator_puts_documents_back_through_the_client(
    secure_server: ServerThread, keys: Keys, tmp_path: Path, instance: Instance
) -> None:
    chain = make_chain(tmp_path / "sealed", KEY, count=50)
    with Client(secure_server.url, api_key=keys.operator) as remote:
        with pytest.raises(Exception, match="--encryption-key|encryption"):
            remote.open_backup(str(chain.folder)).get("orders/1")
        backup = remote.open_backup(str(chain.folder), chain.files[1], encryption_key=KEY)
        dry = backup.restore_into("shop", ids=["orders/1041"], dry_run=True)
        assert dry.dry_run and [w.action for w in dry.writes] == ["create"]
        assert instance.database("shop").get("orders/1041") is None
        done = backup.restore_into("shop", ids=["orders/1041"])
        assert done.counts() == {"create": 1, "overwrite": 0, "skip": 0}
        with pytest.raises(NotFound):
            backup.restore_into("nope", ids=["orders/1041"])
    put_back = instance.database("shop").get("orders/1041")
    assert put_back is not None and put_back.body == {"total": 1041, "status": "paid"}


@pytest.fixture
def alerting(
    instance: Instance, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerThread]:
    """A server with authentication and its real alert thread, checking every 0.1 s."""
    monkeypatch.setenv(INTERVAL_ENV, "0.1")
    instance.create_database("shop").put("users/1", {"name": "Ann"})
    server = ServerThread(instance, auth=True, services=None).start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(secret="s3cret").start()
    yield server
    server.stop()


def test_alerts_through_the_client_by_role(
    alerting: ServerThread, keys: Keys, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    admin = Client(alerting.url, api_key=keys.admin)
    operator = Client(alerting.url, api_key=keys.operator)
    reader = Client(alerting.url, api_key=keys.reader)
    try:
        channel = admin.alerts.add_channel(
            {"kind": "webhook", "name": "ops", "url": receiver.url, "secret": "s3cret"}
        )
        assert channel["secret"] == MASK
        assert [c["id"] for c in reader.alerts.channels()] == [channel["id"]]
        assert admin.alerts.channel(channel["id"])["name"] == "ops"
        with pytest.raises(Forbidden):
            reader.alerts.add_channel({"kind": "webhook", "name": "x", "url": receiver.url})
        with pytest.raises(InvalidInput):
            admin.alerts.add_channel({"kind": "webhook", "name": "bad", "url": "not a url"})
        tested = admin.alerts.send_test(channel["id"])
        assert isinstance(tested, DeliveryRecord) and tested.outcome == "delivered"
        assert admin.alerts.set_enabled(channel["id"], False)["enabled"] is False
        assert admin.alerts.set_enabled(channel["id"], True)["enabled"] is True
        renamed = admin.alerts.update_channel(channel["id"], channel | {"name": "ops-2"})
        assert renamed["name"] == "ops-2" and renamed["secret"] == MASK

        assert admin.alerts.update_settings({"reminder_minutes": 30}).reminder_minutes == 30
        assert reader.alerts.settings().reminder_minutes == 30
        with pytest.raises(Forbidden):
            reader.alerts.update_settings({"reminder_minutes": 5})

        # A real failure: a task whose destination is a file, not a folder.
        blocker = tmp_path / "blocker"
        blocker.write_text("a file where a folder should be")
        task = {"name": "Nightly", "full_backup_cron": "0 2 * * *",
                "destinations": [{"kind": "local", "path": str(blocker / "b")}]}  # fmt: skip
        created = admin.request("POST", "/databases/shop/tasks/backups", json=task).json()
        admin.request("POST", f"/databases/shop/tasks/backups/{created['id']}/backup-now")
        [incident] = wait_for(reader.alerts.incidents, "an incident")
        assert isinstance(incident, Incident) and incident.kind == "backup-failed"
        with pytest.raises(Forbidden):
            reader.alerts.dismiss(incident.id)
        dismissed = operator.alerts.dismiss(incident.id)
        assert dismissed.state == "dismissed" and dismissed.id == incident.id
        with pytest.raises(NotFound):
            operator.alerts.dismiss("no-such-incident")
        wait_for(
            lambda: any(d.event == "incident.opened" for d in reader.alerts.deliveries()),
            "the incident's delivery",
        )
        assert all(d.channel_id == channel["id"] for d in reader.alerts.deliveries())
        assert isinstance(reader.alerts.pending(), list)
        assert reader.alerts.incidents(include_closed=True)[0].id == incident.id

        admin.alerts.remove_channel(channel["id"])
        with pytest.raises(NotFound):
            admin.alerts.channel(channel["id"])
        with pytest.raises(InvalidInput):
            admin.alerts.channel("")
    finally:
        for c in (admin, operator, reader):
            c.close()
