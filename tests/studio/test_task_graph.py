"""A backup task's graph in the Studio: the group's nodes, up or down, the write node, who runs it.

The picture is a pure function of those facts, so most tests read the SVG it
draws as XML (which also proves every text was escaped). One test drives
Chromium against a real two-node cluster: the task list shows the graph, and
the node the task prefers is marked as the one running it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from cluster_processes import RookCluster, start_cluster, wait_until
from rookdb.studio.task_graph import GraphMember, task_graph_svg

from .harness import StudioServer

SVG = "{http://www.w3.org/2000/svg}"


def drawn(svg: str) -> dict[str, dict[str, str]]:
    """Each member's box as drawn: its data-* attributes and its texts, by tag."""
    root = ET.fromstring(svg)
    boxes = {}
    for box in root.iter(f"{SVG}g"):
        texts = " ".join(t.text or "" for t in box.iter(f"{SVG}text"))
        boxes[box.attrib["data-tag"]] = {**box.attrib, "texts": texts}
    return boxes


def described(svg: str) -> str:
    root = ET.fromstring(svg)
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text
    return desc.text


def caption(svg: str) -> str:
    root = ET.fromstring(svg)
    return next(t.text or "" for t in root.iter(f"{SVG}text") if t.get("data-field"))


def test_every_member_is_drawn_with_its_state_and_the_write_node() -> None:
    members = [GraphMember("A", True), GraphMember("B", True), GraphMember("C", False)]
    svg = task_graph_svg(members, "A", "B", "preferred node")
    boxes = drawn(svg)
    assert list(boxes) == ["A", "B", "C"]
    assert [boxes[t]["data-state"] for t in "ABC"] == ["up", "up", "down"]
    assert "down" in boxes["C"]["texts"] and "up" in boxes["A"]["texts"]
    assert [boxes[t]["data-write-node"] for t in "ABC"] == ["yes", "no", "no"]
    assert "write node" in boxes["A"]["texts"] and "write node" not in boxes["B"]["texts"]
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.find(f"{SVG}title") is not None
    assert int(root.attrib["width"]) > 0 and int(root.attrib["height"]) > 0


def test_the_responsible_node_is_marked_with_its_reason() -> None:
    members = [GraphMember("A", True), GraphMember("B", True), GraphMember("C", False)]
    svg = task_graph_svg(members, "A", "B", "preferred node")
    boxes = drawn(svg)
    assert [boxes[t]["data-responsible"] for t in "ABC"] == ["no", "yes", "no"]
    assert "runs the task" in boxes["B"]["texts"]
    assert caption(svg) == "Responsible: B (preferred node)"
    assert "B: up, responsible for the task (preferred node)" in described(svg)
    assert "C: down" in described(svg)


def test_the_node_that_ran_the_last_run_is_marked() -> None:
    members = [GraphMember("A", False), GraphMember("B", True), GraphMember("C", True)]
    svg = task_graph_svg(members, "B", "C", "previous node down", "A")
    boxes = drawn(svg)
    assert [boxes[t]["data-last-executing"] for t in "ABC"] == ["yes", "no", "no"]
    assert "ran last" in boxes["A"]["texts"] and "ran last" not in boxes["C"]["texts"]
    assert "A: down, ran the last run" in described(svg)
    root = ET.fromstring(svg)
    last = [t.text for t in root.iter(f"{SVG}text") if t.get("data-field") == "last-executing"]
    assert last == ["Last run on: A"]
    never_ran = task_graph_svg(members, "B", "C", "balanced")
    assert "Last run on" not in never_ran and "ran last" not in never_ran


def test_a_responsible_node_outside_the_group_is_said_not_hidden() -> None:
    svg = task_graph_svg([GraphMember("A", True)], "A", "Z", "balanced")
    assert drawn(svg)["A"]["data-responsible"] == "no"
    assert caption(svg) == "Responsible: Z (balanced)"
    assert "Z (balanced) is not a member" in described(svg)


def test_a_single_node_is_write_node_and_responsible() -> None:
    svg = task_graph_svg([GraphMember("A", True)], "A", "A", "single node")
    box = drawn(svg)["A"]
    assert box["data-write-node"] == "yes" and box["data-responsible"] == "yes"
    assert caption(svg) == "Responsible: A (single node)"


def test_a_hostile_tag_and_reason_stay_text() -> None:
    tag = '<script>alert("x")</script>&\'"'
    reason = "</text><script>alert(1)</script>"
    svg = task_graph_svg([GraphMember(tag, True), GraphMember("B", False)], tag, tag, reason)
    assert "<script" not in svg and 'alert("x")' not in svg
    root = ET.fromstring(svg)  # well-formed: nothing broke out of its text or attribute
    assert not list(root.iter(f"{SVG}script"))
    boxes = drawn(svg)
    assert list(boxes) == [tag, "B"]
    assert boxes[tag]["data-responsible"] == "yes"
    assert caption(svg) == f"Responsible: {tag} ({reason})"
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert tag in titles  # the full tag, though the box shows it cut


def test_a_single_node_server_draws_itself(studio: StudioServer, tmp_path: Path) -> None:
    with httpx.Client(base_url=studio.url, timeout=30) as http:
        assert http.post("/databases", json={"name": "solo"}).status_code == 201
        made = http.post(
            "/databases/solo/tasks/backups",
            json={
                "full_backup_cron": "0 2 * * *",
                "destinations": [{"kind": "local", "path": str(tmp_path / "backups")}],
            },
        )
        assert made.status_code == 201, made.text
        answer = http.get(f"/studio/databases/solo/tasks/{made.json()['id']}/graph.svg")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("image/svg+xml")
        (box,) = drawn(answer.text).values()
        assert box["data-write-node"] == "yes" and box["data-responsible"] == "yes"
        assert caption(answer.text).startswith("Responsible: A (")
        missing = http.get("/studio/databases/solo/tasks/t-nope/graph.svg")
        assert missing.status_code == 404


# -- in Chromium, against a real two-node cluster ---------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RookCluster]:
    running = start_cluster(tmp_path_factory.mktemp("studio-task-graph"), tags="AB")
    yield running
    running.stop()


def test_the_task_list_shows_the_graph_with_the_responsible_node(
    page: Page, cluster: RookCluster, tmp_path: Path
) -> None:
    tasks = "/databases/shop/tasks/backups"
    with cluster.http("A") as http:
        made = http.post("/databases", json={"name": "shop", "nodes": ["A", "B"]})
        assert made.status_code == 201, made.text
        made = http.post(
            tasks,
            json={
                "name": "Nightly",
                "full_backup_cron": "0 2 * * *",
                "preferred_node": "B",
                "destinations": [{"kind": "local", "path": str(tmp_path / "backups")}],
            },
        )
        assert made.status_code == 201, made.text
        task = made.json()["id"]
        wait_until(
            lambda: http.get(f"{tasks}/{task}/status").json()["node"] == "B",
            20,
            "the task is placed on B, its preferred node",
        )

    url = cluster.nodes["A"].url
    page.goto(f"{url}/studio/login")
    page.get_by_label("API key").fill(cluster.admin_key)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{url}/studio/databases/shop/tasks")
    card = page.locator(f"#task-{task}")
    graph = card.get_by_role("img", name="Graph of the nodes of shop's group")
    expect(graph).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=graph.element_handle()
    )

    answer = page.request.get(f"{url}/studio/databases/shop/tasks/{task}/graph.svg")
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    boxes = drawn(answer.text())
    assert set(boxes) == {"A", "B"}
    assert boxes["B"]["data-responsible"] == "yes" and boxes["A"]["data-responsible"] == "no"
    assert boxes["A"]["data-write-node"] == "yes"
    assert all(box["data-state"] == "up" for box in boxes.values())
    assert caption(answer.text()).startswith("Responsible: B")

    # The card's Refresh reloads the picture too.
    before = graph.get_attribute("src")
    card.get_by_role("link", name="Refresh").click()
    expect(graph).not_to_have_attribute("src", before or "")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=graph.element_handle()
    )
