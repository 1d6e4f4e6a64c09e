"""The HTTP server: a FastAPI app over an `Instance`, run by uvicorn."""

from rookdb.server.app import Service, create_app
from rookdb.server.run import ServerThread, serve

__all__ = ["Service", "ServerThread", "create_app", "serve"]
