"""The Studio's Cluster page in Chromium: every node with its state, the observer, etcd's health."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster_processes import RookCluster, start_cluster, wait_until

from .harness import screenshot


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RookCluster]:
    running = start_cluster(tmp_path_factory.mktemp("studio-cluster"), tags="AB")
    yield running
    running.stop()


def log_in(page: Page, url: str, key: str) -> None:
    page.goto(f"{url}/studio/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Log in").click()


def test_the_cluster_page_shows_every_node_and_a_killed_one_as_down(
    page: Page, cluster: RookCluster, tmp_path: Path
) -> None:
    with cluster.http("B") as http:
        assert http.post("/databases", json={"name": "orders", "nodes": ["B"]}).status_code == 201
    url = cluster.nodes["A"].url
    log_in(page, url, cluster.admin_key)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cluster").click()
    expect(page.get_by_role("heading", name="Cluster", exact=True)).to_be_visible()
    nodes = page.get_by_role("table", name="Nodes")
    expect(nodes.locator("tr[data-node='A'] [data-field='state']")).to_have_text("up")
    expect(nodes.locator("tr[data-node='B'] [data-field='state']")).to_have_text("up")
    expect(nodes.locator("tr[data-node='A']")).to_contain_text("this node")
    expect(page.locator("[data-etcd-healthy='yes']")).to_be_visible()
    wait_until(lambda: cluster.topology("A")["observer"], 10, "an observer")
    page.reload()
    expect(nodes.locator("[data-field='observer']")).to_have_count(1)

    # Node A lists B's database with its node instead of numbers it does not hold.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Databases").click()
    expect(page.locator("tr[data-database='orders'] [data-field='elsewhere']")).to_have_text(
        "on node B"
    )

    # A database on both nodes: its Group tab shows the members, the write node and the lag.
    with cluster.http("A") as http:
        made = http.post("/databases", json={"name": "ledger", "nodes": ["A", "B"]})
        assert made.status_code == 201, made.text
        for n in range(5):
            http.put(f"/databases/ledger/docs/entries%2F{n}", json={"n": n})
    wait_until(
        lambda: all(
            m["lag_etags"] == 0 and m["applied_etag"] == 5
            for m in cluster.http("A").get("/databases/ledger/topology").json()["members"]
        ),
        15,
        "B holds the five writes",
    )
    page.goto(f"{url}/studio/databases/ledger")
    page.get_by_role("navigation", name="Database").get_by_role("link", name="Group").click()
    members = page.get_by_role("table", name="Members")
    expect(page.locator("[data-field='write_node']")).to_have_text("A")
    expect(members.locator("tr[data-member='B'] [data-field='role']")).to_have_text("follower")
    expect(members.locator("tr[data-member='B'] [data-field='applied_etag']")).to_have_text("5")
    expect(members.locator("tr[data-member='B'] [data-field='lag_etags']")).to_have_text("0")
    page.get_by_label("Add a node").fill("Q")
    page.get_by_role("button", name="Add node").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown node")
    screenshot(page, "group")

    # A document saved in the Studio of follower B is written by write node A, and B's
    # page after the save shows it (B answers once its own copy holds the write).
    b_url = cluster.nodes["B"].url
    log_in(page, b_url, cluster.admin_key)
    page.goto(f"{b_url}/studio/databases/ledger/documents/new")
    page.get_by_label("Id").fill("entries/studio")
    page.get_by_label("JSON").fill('{"n": 99, "@metadata": {"@collection": "Entries"}}')
    page.get_by_role("button", name="Save document").click()
    expect(page.get_by_label("Document JSON")).to_contain_text('"n": 99')
    assert page.url.startswith(b_url)
    with cluster.http("A") as http:
        on_a = http.get("/databases/ledger/docs/entries%2Fstudio")
        assert on_a.status_code == 200 and on_a.json()["n"] == 99
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted entries/studio")
    with cluster.http("A") as http:
        assert http.get("/databases/ledger/docs/entries%2Fstudio").status_code == 404

    served = cluster.nodes["B"].served
    assert served is not None
    served.process.send_signal(signal.SIGKILL)
    served.process.wait(10)
    wait_until(lambda: cluster.node_state("A", "B") == "down", 15, "B shows as down")
    page.goto(f"{url}/studio/cluster")
    expect(nodes.locator("tr[data-node='B'] [data-field='state']")).to_have_text("down")
    screenshot(page, "cluster")
