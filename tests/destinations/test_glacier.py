"""The destination contract on Glacier (moto), plus inventory and retrieval behaviour."""

import json
import os
from pathlib import Path

import pytest

from rookdb.destinations import Destination, from_config
from rookdb.destinations.base import ArchiveNeedsRetrieval
from rookdb.destinations.glacier import GlacierDestination
from rookdb.errors import DestinationError

from .contract import FULL, INCR, DestinationContract, write
from .servers import ServerProcess, create_vault, unique


class TestGlacierOnMoto(DestinationContract):
    backend_fixture = "glacier_backend"

    def test_range_reads(self, dest: Destination, tmp_path: Path) -> None:
        # An archive is read only through a retrieval job: refused, saying so.
        dest.put_file(write(tmp_path / "f", b"x" * 1000), FULL)
        with pytest.raises(ArchiveNeedsRetrieval, match="needs a retrieval"):
            dest.read_range(FULL, 0, 10)


def glacier(
    server: ServerProcess, inventory: Path, vault: str, **changes: object
) -> GlacierDestination:
    config = {
        "kind": "glacier",
        "vault": vault,
        "region": "us-east-1",
        "endpoint_url": server.url,
        "access_key_id": "any",
        "secret_access_key": "any",
        "inventory_path": str(inventory),
        "retrieval_tier": "Expedited",
        "retrieval_poll_seconds": 0.1,
        **changes,
    }
    destination = from_config(config)
    assert isinstance(destination, GlacierDestination)
    return destination


def test_inventory_is_rebuilt_from_glacier(moto_glacier: ServerProcess, tmp_path: Path) -> None:
    """A fresh machine (no inventory file) recovers names and archive ids from Glacier."""
    vault = unique("vault")
    create_vault(moto_glacier.url, vault)
    first = glacier(moto_glacier, tmp_path / "machine-1.json", vault)
    first.put_file(write(tmp_path / "a", b"full backup"), FULL)
    first.put_file(write(tmp_path / "b", b"incremental backup"), INCR)
    first.check_access()  # its probe archive must not show up in the rebuilt inventory

    second = glacier(moto_glacier, tmp_path / "machine-2.json", vault)
    assert second.list() == []
    assert second.rebuild_inventory() == 2
    assert [(f.path, f.size) for f in second.list()] == [(FULL, 11), (INCR, 18)]
    second.get_file(INCR, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b"incremental backup"


def test_retrieval_not_ready_says_so_and_is_reused(
    moto_glacier: ServerProcess, tmp_path: Path
) -> None:
    """A restore that cannot wait for retrieval explains why; the next attempt reuses the job."""
    vault = unique("vault")
    create_vault(moto_glacier.url, vault)
    impatient = glacier(moto_glacier, tmp_path / "inv.json", vault, retrieval_timeout_seconds=0.2)
    impatient.put_file(write(tmp_path / "a", os.urandom(1000)), FULL)
    with pytest.raises(DestinationError, match="retrieval first") as info:
        impatient.get_file(FULL, tmp_path / "back")
    assert not info.value.retryable
    inventory = json.loads((tmp_path / "inv.json").read_text())
    job_id = inventory["archives"][FULL]["retrieval_job"]

    patient = glacier(moto_glacier, tmp_path / "inv.json", vault, retrieval_timeout_seconds=30)
    patient.get_file(FULL, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == (tmp_path / "a").read_bytes()
    saved = json.loads((tmp_path / "inv.json").read_text())
    assert saved["archives"][FULL]["retrieval_job"] == job_id


def test_rebuild_keeps_what_this_machine_knows(moto_glacier: ServerProcess, tmp_path: Path) -> None:
    """Glacier's inventory lags by up to a day: a rebuild must not forget newer local entries."""
    vault = unique("vault")
    create_vault(moto_glacier.url, vault)
    destination = glacier(moto_glacier, tmp_path / "inv.json", vault)
    destination.put_file(write(tmp_path / "a", b"full backup"), FULL)
    inventory = json.loads((tmp_path / "inv.json").read_text())
    # An archive uploaded after Glacier's last inventory: known here only.
    inventory["archives"]["recent/file"] = {"archive_id": "recent-id", "size": 3, "created": None}
    (tmp_path / "inv.json").write_text(json.dumps(inventory))
    assert destination.rebuild_inventory() == 2
    assert [f.path for f in destination.list()] == [FULL, "recent/file"]
