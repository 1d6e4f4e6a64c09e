"""Studio pages: a database's collections, its documents, one document and its attachments."""

from __future__ import annotations

from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from rookdb.app_state import instance_of
from rookdb.errors import InvalidInput, NotFound, RookError
from rookdb.studio.web import error_page, redirect, render

router = APIRouter()

PAGE_SIZE = 25


@router.get("/databases/{name}", response_class=HTMLResponse)
def documents_page(
    request: Request, name: str, collection: str | None = None, page: int = 1
) -> Response:
    """Collections on the left, a page of documents on the right."""
    try:
        db = instance_of(request).database(name)
        page = max(page, 1)
        documents = db.list_documents(
            collection or None, start=(page - 1) * PAGE_SIZE, page_size=PAGE_SIZE + 1
        )
        collections = db.collections()
    except RookError as exc:
        return error_page(request, exc)
    total = collections.get(collection, 0) if collection else sum(collections.values())
    context = {
        "db": name,
        "tab": "documents",
        "collections": collections,
        "collection": collection,
        "documents": documents[:PAGE_SIZE],
        "page": page,
        "has_next": len(documents) > PAGE_SIZE,
        "total": total,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "form": {},
        "errors": {},
    }
    return render(request, "documents.html", context)


@router.get("/databases/{name}/documents/new", response_class=HTMLResponse)
def new_document_page(request: Request, name: str) -> Response:
    """A form for one document: its id and its JSON body."""
    try:
        instance_of(request).database(name)
    except RookError as exc:
        return error_page(request, exc)
    form = {"id": "", "body": '{\n  "@metadata": {"@collection": ""}\n}'}
    context = {"db": name, "tab": "documents", "form": form, "errors": {}}
    return render(request, "document_new.html", context)


@router.post("/databases/{name}/documents", response_class=HTMLResponse)
async def put_document(request: Request, name: str) -> Response:
    """Store the document from the form, then show it."""
    form = await request.form()
    doc_id = str(form.get("id", "")).strip()
    text = str(form.get("body", ""))
    errors: dict[str, str] = {}
    try:
        db = instance_of(request).database(name)
    except RookError as exc:
        return error_page(request, exc)
    try:
        body = orjson.loads(text)
        if not isinstance(body, dict):
            raise InvalidInput("a document is a JSON object: {...}", field="body")
        result = db.put(doc_id, body)
    except orjson.JSONDecodeError as exc:
        errors["body"] = f"This is not valid JSON: {exc}"
    except RookError as exc:
        errors[exc.field if exc.field in ("id", "body") else "id"] = exc.message
    if errors:
        context = {"db": name, "tab": "documents", "form": {"id": doc_id, "body": text}}
        context["errors"] = errors
        return render(request, "document_new.html", context, status_code=400)
    return redirect(f"/databases/{name}/doc?id={result.id}", notice=f"Saved {result.id}.")


@router.get("/databases/{name}/doc", response_class=HTMLResponse)
def document_page(request: Request, name: str, id: str) -> Response:  # noqa: A002
    """One document as JSON (metadata included) and its attachments."""
    try:
        db = instance_of(request).database(name)
        doc = db.get(id)
        if doc is None:
            raise NotFound(f"document {id!r} does not exist in database {name!r}")
        attachments = db.list_attachments(doc.id)
    except RookError as exc:
        return error_page(request, exc)
    pretty = orjson.dumps(doc.to_json(), option=orjson.OPT_INDENT_2).decode()
    context = {
        "db": name,
        "tab": "documents",
        "doc": doc,
        "json": pretty,
        "attachments": attachments,
    }
    return render(request, "document.html", context)


@router.post("/databases/{name}/doc/delete", response_class=HTMLResponse)
async def delete_document(request: Request, name: str) -> Response:
    """Delete one document (the confirmation is on the page)."""
    form = await request.form()
    doc_id = str(form.get("id", ""))
    try:
        instance_of(request).database(name).delete(doc_id)
    except RookError as exc:
        return error_page(request, exc)
    return redirect(f"/databases/{name}", notice=f"Deleted {doc_id}.")


@router.get("/databases/{name}/attachment")
def download_attachment(request: Request, name: str, id: str, attachment: str) -> Response:  # noqa: A002
    """Stream an attachment to the browser as a download."""
    try:
        info, chunks = instance_of(request).database(name).get_attachment(id, attachment)
    except RookError as exc:
        return error_page(request, exc)
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment, safe='')}",
        "Content-Length": str(info.size),
    }
    return StreamingResponse(chunks, media_type=info.content_type, headers=headers)
