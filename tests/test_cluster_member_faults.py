"""A member of a group in trouble, with real processes: its disk full, or killed mid-catch-up.

- Disk full: node C's data dir is a small tmpfs (the disk really is full). C
  reports it (the database's topology, answered by the write node, shows C's
  error) and stops applying; writes with write concern majority go on with A and
  B. Once there is room again C catches up by itself.
- Killed mid-catch-up: C is added to a group holding thousands of documents and
  SIGKILLed while its copy is still arriving (a partial file in its staging
  folder); started again, it catches up and holds what the write node holds.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cluster_processes import RookCluster, start_cluster, wait_until
from small_disk import mounted_tmpfs

BODY = "x" * 20_000  # about 20 KB a document: a few fill what room C has left


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RookCluster]:
    running = start_cluster(tmp_path, tags="AB", etcd_members=1)
    yield running
    running.stop()


@pytest.fixture
def small_disk_for_c(tmp_path: Path) -> Iterator[Path]:
    """Node C's data dir on a real 16 MB tmpfs, unmounted when the test ends."""
    with mounted_tmpfs(tmp_path / "node-C", "16m") as mount:
        yield mount


def members(http: httpx.Client, db: str) -> dict[str, dict[str, Any]]:
    answer = http.get(f"/databases/{db}/topology")
    assert answer.status_code == 200, answer.text
    return {m["tag"]: m for m in answer.json()["members"]}


def all_documents(http: httpx.Client, db: str) -> dict[str, Any]:
    answer = http.get(f"/databases/{db}/docs", params={"page_size": 10_000})
    assert answer.status_code == 200, answer.text
    return {d["@metadata"]["@id"]: d for d in answer.json()["documents"]}


def test_a_member_whose_disk_is_full_reports_it_and_stops_while_the_others_go_on(
    cluster: RookCluster, small_disk_for_c: Path
) -> None:
    cluster.start_node("C")
    with cluster.http("A") as a:
        made = a.post(
            "/databases",
            json={"name": "full", "nodes": ["A", "B", "C"], "write_concern": "majority"},
        )
        assert made.status_code == 201, made.text
        for n in range(3):
            assert a.put(f"/databases/full/docs/early%2F{n}", json={"n": n}).status_code < 300
        wait_until(lambda: members(a, "full")["C"]["lag_etags"] == 0, 20, "C holds the start")

        ballast = small_disk_for_c / "ballast"
        stat = os.statvfs(small_disk_for_c)
        with ballast.open("wb") as out:
            out.write(b"\0" * max(stat.f_bavail * stat.f_frsize - 64 * 1024, 0))

        for n in range(20):  # every one confirmed by a majority: A and B
            answer = a.put(f"/databases/full/docs/late%2F{n}", json={"n": n, "body": BODY})
            assert answer.status_code < 300, answer.text
        head = members(a, "full")["A"]["applied_etag"]

        def c_reports_an_error() -> dict[str, dict[str, Any]] | None:
            view = members(a, "full")
            return view if view["C"]["error"] else None

        view = wait_until(c_reports_an_error, 20, "C reports why it cannot apply")
        assert "full" in view["C"]["error"], view["C"]
        assert view["C"]["applied_etag"] < head
        wait_until(lambda: members(a, "full")["B"]["lag_etags"] == 0, 10, "B keeps up")

        ballast.unlink()  # room again: C goes on by itself
        wait_until(
            lambda: (c := members(a, "full")["C"])["lag_etags"] == 0 and c["error"] is None,
            30,
            "C catches up and its error is gone",
        )
        with cluster.http("C") as c:
            assert all_documents(c, "full") == all_documents(a, "full")


def test_a_member_killed_mid_catch_up_resumes_when_it_comes_back(cluster: RookCluster) -> None:
    with cluster.http("A", timeout=120) as a:
        made = a.post(
            "/databases", json={"name": "grow", "nodes": ["A", "B"], "write_concern": "1"}
        )
        assert made.status_code == 201, made.text
        for first in range(0, 6_000, 1_000):
            operations = [
                {"type": "put", "id": f"items/{i}", "body": {"n": i, "text": BODY[:2_000]}}
                for i in range(first, first + 1_000)
            ]
            done = a.post("/databases/grow/batch", json={"operations": operations})
            assert done.status_code < 300, done.text

        node = cluster.start_node("C")
        staging = node.data_dir / "staging"

        def partial_copy_arriving() -> bool:
            return any(f.is_file() and f.stat().st_size > 0 for f in staging.rglob("*"))

        assert a.post("/databases/grow/group/nodes", json={"node": "C"}).status_code < 300
        wait_until(partial_copy_arriving, 30, "C's copy starts arriving")
        assert members(a, "grow")["C"]["lag_etags"] > 0, "killed before it finished"
        assert node.served is not None
        node.served.process.send_signal(signal.SIGKILL)
        node.served.process.wait(10)
        # Its tag is free again once its lease ran out.
        wait_until(lambda: cluster.node_state("A", "C") == "down", 20, "C shows as down")

        cluster.start_node("C")
        wait_until(lambda: members(a, "grow")["C"]["lag_etags"] == 0, 60, "C caught up")
        with cluster.http("C", timeout=120) as c:
            assert all_documents(c, "grow") == all_documents(a, "grow")
