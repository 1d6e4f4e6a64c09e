"""What a user can read of a database, to compare a restored or imported copy with its source.

Works on an embedded `Database` and on a `RemoteDatabase` alike (same methods).
"""

from __future__ import annotations

from typing import Any

import rookdb


def contents(db: Any) -> dict[str, Any]:
    """Documents (collection, body), attachments (type, hash), identities, index definitions."""
    documents: dict[str, Any] = {}
    start = 0
    while page := db.list_documents(start=start, page_size=500):
        documents.update({d.id: (d.collection, _body(d.body)) for d in page})
        start += len(page)
    attachments = {
        (doc_id, a.name): (a.content_type, a.hash)
        for doc_id in documents
        for a in db.list_attachments(doc_id)
    }
    indexes = sorted((i.name, i.collection, tuple(i.fields)) for i in db.list_indexes())
    return {
        "documents": documents,
        "attachments": attachments,
        "identities": db.identities(),
        "indexes": indexes,
    }


def _body(body: dict[str, Any]) -> dict[str, Any]:
    # The collection is compared on its own: the client leaves out an `@collection`
    # that only says what the id already implies.
    meta = {k: v for k, v in (body.get("@metadata") or {}).items() if k != "@collection"}
    plain = {k: v for k, v in body.items() if k != "@metadata"}
    return {**plain, "@metadata": meta} if meta else plain


def shop_history(db: rookdb.Database, step: int) -> None:
    """Step `step` of a small shop's life: puts, updates, deletes, attachments, identities."""
    if step == 0:
        db.create_index("ByName", "Users", ["name"])
        for i in range(30):
            db.put(f"users/{i}", {"name": f"u{i}", "step": 0})
        db.put_attachment("users/1", "photo.txt", b"first photo", "text/plain")
        db.next_identity("users")
    elif step == 1:
        db.put("users/2", {"name": "u2", "step": 1})
        db.delete("users/3")
        db.delete("users/4")
        db.put_attachment("users/5", "cv.txt", b"a cv", "text/plain")
        db.put("orders/1", {"total": 12.5, "@metadata": {"@collection": "Orders"}})
    elif step == 2:
        db.delete("users/1")  # its attachment goes with it
        db.put("users/3", {"name": "back again", "step": 2})
        db.delete_attachment("users/5", "cv.txt")
        db.next_identity("users")
    else:
        raise ValueError(step)
