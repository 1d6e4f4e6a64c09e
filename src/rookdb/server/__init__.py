"""The HTTP server: a FastAPI app over an `Instance`, run by uvicorn.

The API (OpenAPI at `/openapi.json`, interactive docs at `/docs`)::

    GET    /health                                   {"status": "ok"}
    GET    /databases                                {"databases": [info ...]}
    POST   /databases            {"name"}            201 info; 409 when taken
    GET    /databases/{db}                           info (counts, last etag, size)
    DELETE /databases/{db}                           {"deleted": true}
    PUT    /databases/{db}/docs/{id...}  JSON object {"id", "etag", "change_vector"} + ETag
           (If-Match: "N", If-None-Match: * or ?expected_etag=N -> 409 on mismatch)
    GET    /databases/{db}/docs/{id...}              the document with @metadata + ETag; 404
    DELETE /databases/{db}/docs/{id...}              {"id", "deleted"} (If-Match as for PUT)
    GET    /databases/{db}/docs?collection=&start=&page_size=   {"documents": [...]}
    POST   /databases/{db}/docs/get  {"ids": [...]}  {"results": [doc | null ...]}
    POST   /databases/{db}/batch     {"operations": [{"type": "put"|"delete", "id",
                                      "body"?, "expected_etag"?}]}  all or nothing
    POST   /databases/{db}/bulk-insert  JSON lines {"id", "body"} (any size, staged);
                                      {"inserted", "last_etag"}  all or nothing
    GET    /databases/{db}/collections               {"collections": {name: count}}
    GET    /databases/{db}/identities                {"identities": {name: value}}
    PUT    /databases/{db}/attachments?id=&name=     raw body, its Content-Type kept; 201 info
    GET    /databases/{db}/attachments?id=&name=     the bytes, streamed (HEAD: headers only)
    DELETE /databases/{db}/attachments?id=&name=     {"deleted": bool}
    GET    /databases/{db}/attachments/list?id=      {"attachments": [info ...]}
    PUT    /databases/{db}/indexes/{name}  {"collection", "fields": [...]}
    GET    /databases/{db}/indexes[/{name}]          definitions
    DELETE /databases/{db}/indexes/{name}            {"deleted": bool}
    POST   /databases/{db}/queries   {"collection", "where": [{"field", "op", "value"}],
                                      "start", "page_size", "index", "order_by"}
    GET    /databases/{db}/changes?since_etag=N      NDJSON, one change per line, in etag
                                                     order; X-Rookdb-Last-Etag to resume

    GET    /databases/{db}/export?since_etag=&compression=   an export file, streamed as
                                                     written (key: X-Rookdb-Encryption-Key)
    POST   /databases/{db}/import?incremental=       a file as the raw (chunked) body;
                                                     the import's result
    POST   /databases/{db}/backups  {"to", "type"?, "incremental"?, "compression"?,
                                      "encryption_key"?}  201 the file written on the server
    POST   /restores     {"source", "database", "until"?, "encryption_key"?,
                          "source_options"?}         202 the job (Location: /restores/{id})
    GET    /restores[/{id}]                          state, progress, result or error

    GET    /admin/keys                               {"keys": [key ...]} (admin)
    POST   /admin/keys   {"role", "databases"?, "name"?}  201 key + its secret, shown once
    DELETE /admin/keys/{id}                          the key, revoked

Document ids go in the path with '?', '#', '%' and dot segments
percent-encoded. Errors are JSON `{"error": code, "message", "field"?}` with
the status of their RookError; JSON bodies are limited to 32 MiB (413) and 64
levels of nesting (400), attachment uploads are not. With authentication on
(`rookdb serve` by default) every route but /health needs
`Authorization: Bearer <key>`: 401 without, 403 with the wrong role (see
`rookdb.server.auth` and `rookdb.security.roles`).
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = ["Service", "ServerThread", "Tls", "create_app", "serve"]

if TYPE_CHECKING:
    from rookdb.server.app import Service, create_app
    from rookdb.server.run import ServerThread, Tls, serve
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "app": ["Service", "create_app"],
            "run": ["ServerThread", "Tls", "serve"],
        },
    )
