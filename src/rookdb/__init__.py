"""rookdb: a document database whose headline feature is backup tasks."""

from rookdb.errors import RookError
from rookdb.instance import Instance, open
from rookdb.storage import Database

__all__ = ["Client", "Database", "Instance", "RookError", "open"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The HTTP client pulls in httpx; import it only when asked for.
    if name == "Client":
        from rookdb.client import Client

        return Client
    raise AttributeError(name)
