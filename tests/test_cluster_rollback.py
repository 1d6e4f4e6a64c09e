"""A write node that dies holding changes nobody has: when it returns, nothing is dropped silently.

Group A, B, C with write concern 1: B and C are paused (SIGSTOP) while A takes
three writes, then A is SIGKILLed and B, C resume. B becomes the write node in
a new term and takes writes of its own. When A comes back its history has gone
another way: it saves its three changes to a rollback file (importable with
`rookdb import`), is rebuilt from the group and says so in the topology; then
all three members hold the same changes.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import rookdb
from cluster_processes import start_cluster, wait_until
from rookdb_process import cli
from test_cluster_groups import same_everywhere


def test_a_returning_write_node_saves_what_the_group_never_had(tmp_path: Path) -> None:
    cluster = start_cluster(tmp_path / "cluster")
    try:
        with cluster.http("A") as http:
            made = http.post(
                "/databases",
                json={"name": "ledger", "nodes": ["A", "B", "C"], "write_concern": "1"},
            )
            assert made.status_code == 201, made.text
            for n in range(5):
                assert http.put(
                    f"/databases/ledger/docs/kept%2F{n}", json={"n": n}
                ).status_code in (200, 201)
        wait_until(lambda: same_everywhere(cluster, "ledger"), 15, "the group holds the first five")

        paused = [cluster.nodes[tag].served for tag in "BC"]
        for served in paused:
            assert served is not None
            served.process.send_signal(signal.SIGSTOP)
        with cluster.http("A") as http:
            for n in range(3):
                answer = http.put(f"/databases/ledger/docs/lost%2F{n}", json={"n": n})
                assert answer.status_code in (200, 201), answer.text  # concern 1: A alone
                # A follower's request already waiting at A takes the first write with it
                # (it lands when the follower resumes); the later ones reach nobody.
                time.sleep(0.3)
        served_a = cluster.nodes["A"].served
        assert served_a is not None
        served_a.process.send_signal(signal.SIGKILL)
        served_a.process.wait(10)
        for served in paused:
            assert served is not None
            served.process.send_signal(signal.SIGCONT)

        def new_write_node() -> dict[str, object] | None:
            with cluster.http("B") as http:
                view = http.get("/databases/ledger/topology")
            body = view.json() if view.status_code == 200 else {}
            return body if body.get("write_node") in ("B", "C") else None

        view = wait_until(new_write_node, 30, "B or C took over")
        assert view["term"] == 2
        with cluster.http("C") as http:
            for n in range(2):
                answer = http.put(f"/databases/ledger/docs/after%2F{n}", json={"n": n})
                assert answer.status_code in (200, 201), answer.text

        cluster.start_node("A")
        feed = wait_until(
            lambda: same_everywhere(cluster, "ledger"), 30, "A rebuilt from the group"
        )
        ids = {
            line.split('"id":"')[1].split('"')[0] for line in feed if '"kind":"document"' in line
        }
        lost = {f"lost/{n}" for n in range(3)}
        missing = lost - ids
        assert ids == {*(f"kept/{n}" for n in range(5)), "after/0", "after/1", *(lost & ids)}
        assert missing, "A's later writes never reached the group: its history diverged"

        # Nothing dropped silently: what the group never had is in a rollback file, which
        # imports like any export, and A says so.
        files = list((cluster.nodes["A"].data_dir / "rollback").glob("ledger-term1-after*.rookdb"))
        assert len(files) == 1, files
        recovered = tmp_path / "recovered"
        imported = cli("--data-dir", str(recovered), "import", str(files[0]), "lost")
        assert imported.returncode == 0, imported.stderr
        with rookdb.open(recovered) as instance:
            saved = {doc.id for doc in instance.database("lost").list_documents()}
        assert saved == missing
        with cluster.http("A") as http:
            members = {
                m["tag"]: m for m in http.get("/databases/ledger/topology").json()["members"]
            }
        assert members["A"]["role"] == "follower"
    finally:
        cluster.stop()
