"""rookdb: a document database whose headline feature is backup tasks.

The names below are imported on first use (`rookdb.lazy_exports`): `import
rookdb.errors` does not open the storage layer, and `rookdb.Client` alone
pulls in httpx.
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = ["Client", "Database", "Instance", "RookError", "open"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from rookdb.client import Client
    from rookdb.errors import RookError
    from rookdb.instance import Instance, open
    from rookdb.storage import Database
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "client": ["Client"],
            "errors": ["RookError"],
            "instance": ["Instance", "open"],
            "storage": ["Database"],
        },
    )
