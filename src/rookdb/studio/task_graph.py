"""Studio: a backup task's graph, an SVG drawn here (no JS library).

It shows the database group's members with their state, the write node, the
node responsible for the task with the reason, and the node that ran its last
run (after a failover they differ until the new node runs it). The picture is a pure function
of those facts (`task_graph_svg`); the route only gathers them from the
replication topology and the task status.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from rookdb.app_state import AppState, backup_tasks_of
from rookdb.errors import RookError

router = APIRouter()

SVG_TYPE = "image/svg+xml"

# Fixed geometry: one box per member in a row, arcs from the write node above them.
_BOX_W, _BOX_H, _GAP, _MARGIN = 112, 92, 28, 16
_ROW_Y = 52
_HEIGHT = _ROW_Y + _BOX_H + 44
_DASHED = ' stroke-dasharray="5 3"'  # a member that is down
_TAG_CHARS = 10  # longer tags are cut in the box; <title> and <desc> keep them whole

# Roughly the Studio's CSS variables (studio.css :root).
_INK, _MUTED, _LINE, _PANEL = "#1d2330", "#5f6b7d", "#dde1e7", "#ffffff"
_ACCENT, _ACCENT_SOFT = "#3b5bdb", "#e7ecfc"
_OK, _BAD, _BAD_SOFT = "#1f7a4d", "#b42318", "#fde8e6"
_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif'


@dataclass(frozen=True, slots=True)
class GraphMember:
    """One member of a database group as the graph shows it."""

    tag: str
    up: bool


def task_graph_svg(
    members: Sequence[GraphMember],
    write_node: str | None,
    responsible: str,
    reason: str | None,
    last_executing: str | None = None,
) -> str:
    """The SVG of a task's group: members up or down, the write node, the responsible node,
    and the node that ran the last run."""
    width = max(_MARGIN * 2 + len(members) * _BOX_W + max(len(members) - 1, 0) * _GAP, 320)
    centres = {m.tag: _MARGIN + i * (_BOX_W + _GAP) + _BOX_W // 2 for i, m in enumerate(members)}
    why = f" ({reason})" if reason else ""
    summary = [
        f"{m.tag}: {'up' if m.up else 'down'}"
        + (", write node" if m.tag == write_node else "")
        + (f", responsible for the task{why}" if m.tag == responsible else "")
        + (", ran the last run" if m.tag == last_executing else "")
        for m in members
    ]
    if responsible not in centres:
        summary.append(f"responsible node {responsible}{why} is not a member of the group")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT}" '
        f'viewBox="0 0 {width} {_HEIGHT}" role="img" aria-labelledby="graph-title graph-desc" '
        f'font-family="{_e(_FONT)}" font-size="12">',
        '<title id="graph-title">Nodes of the database group and who runs the task</title>',
        f'<desc id="graph-desc">{_e(". ".join(summary))}.</desc>',
        "<defs>"
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{_MUTED}"/>'
        "</marker></defs>",
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{_HEIGHT - 1}" rx="8" '
        f'fill="{_PANEL}" stroke="{_LINE}"/>',
    ]
    # Replication: the write node sends its changes to every other member.
    if write_node in centres:
        source = centres[write_node]
        for member in members:
            if member.tag == write_node:
                continue
            target = centres[member.tag]
            rise = min(34, 12 + abs(target - source) // 12)
            parts.append(
                f'<path d="M{source} {_ROW_Y} Q{(source + target) // 2} {_ROW_Y - rise} '
                f'{target} {_ROW_Y - 2}" fill="none" stroke="{_MUTED}" stroke-width="1.5"'
                f'{"" if member.up else _DASHED} marker-end="url(#arrow)"/>'
            )
    for member in members:
        parts.append(
            _member_box(
                member,
                centres[member.tag],
                member.tag == write_node,
                responsible,
                member.tag == last_executing,
            )
        )
    caption = f"Responsible: {responsible}{why}"
    parts.append(
        f'<text x="{_MARGIN}" y="{_HEIGHT - 16}" fill="{_INK}" font-size="13" '
        f'data-field="responsible">{_e(caption)}</text>'
    )
    if last_executing:
        parts.append(
            f'<text x="{width - _MARGIN}" y="{_HEIGHT - 16}" text-anchor="end" fill="{_MUTED}" '
            f'data-field="last-executing">{_e(f"Last run on: {last_executing}")}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _member_box(
    member: GraphMember, centre: int, write: bool, responsible: str, ran_last: bool
) -> str:
    left = centre - _BOX_W // 2
    runs = member.tag == responsible
    stroke = _ACCENT if runs else (_BAD if not member.up else _LINE)
    fill = _ACCENT_SOFT if runs else (_BAD_SOFT if not member.up else _PANEL)
    shown = member.tag if len(member.tag) <= _TAG_CHARS else member.tag[: _TAG_CHARS - 1] + "…"
    state = "up" if member.up else "down"
    colour = _OK if member.up else _BAD
    lines = [
        f'<g class="member" data-tag="{_e(member.tag)}" data-state="{state}" '
        f'data-write-node="{_yes(write)}" data-responsible="{_yes(runs)}" '
        f'data-last-executing="{_yes(ran_last)}">',
        f"<title>{_e(member.tag)}</title>",
        f'<rect x="{left}" y="{_ROW_Y}" width="{_BOX_W}" height="{_BOX_H}" rx="8" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{3 if runs else 1.5}"{"" if member.up else _DASHED}/>',
        f'<text x="{centre}" y="{_ROW_Y + 26}" text-anchor="middle" font-size="18" '
        f'font-weight="700" fill="{_INK}">{_e(shown)}</text>',
        f'<circle cx="{left + 14}" cy="{_ROW_Y + 45}" r="4.5" fill="{colour}"/>',
        f'<text x="{left + 24}" y="{_ROW_Y + 49}" fill="{colour}">{state}</text>',
    ]
    if ran_last:
        lines.append(
            f'<text x="{left + _BOX_W - 8}" y="{_ROW_Y + 14}" text-anchor="end" font-size="10" '
            f'fill="{_MUTED}">ran last</text>'
        )
    if write:
        lines.append(
            f'<text x="{centre}" y="{_ROW_Y + 66}" text-anchor="middle" fill="{_MUTED}">'
            "write node</text>"
        )
    if runs:
        lines.append(
            f'<text x="{centre}" y="{_ROW_Y + 83}" text-anchor="middle" fill="{_ACCENT}" '
            'font-weight="600">runs the task</text>'
        )
    lines.append("</g>")
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


@router.get("/databases/{name}/tasks/{task_id}/graph.svg")
def task_graph(request: Request, name: str, task_id: str) -> Response:
    """The task card's graph: the group's members, the write node, the responsible node."""
    state = AppState.of(request.app)
    try:
        status = backup_tasks_of(request).status(name, task_id)
        if state.replication is None:
            this = state.instance.node_tag
            members, write_node = [GraphMember(this, True)], this
        else:
            view = state.replication.topology(name)
            members = [GraphMember(str(m["tag"]), m["state"] == "up") for m in view["members"]]
            write_node = view["write_node"]
    except RookError as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.http_status)
    responsible = str(status.get("responsible_node") or status["node"])
    svg = task_graph_svg(
        members,
        write_node,
        responsible,
        status.get("responsible_reason"),
        status.get("last_executing_node"),
    )
    # Refreshed with the task card: never a stale picture from a cache.
    return Response(svg, media_type=SVG_TYPE, headers={"Cache-Control": "no-store"})
