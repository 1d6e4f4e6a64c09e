"""Backup destinations: one interface, one module per backend (imported lazily).

Use ``from_config`` with a task's destination entry or ``from_url`` with a
URL such as ``s3://bucket/prefix/run-folder``; ``upload_to_all`` fans one file
out to several destinations in parallel; ``check_destination`` is "test connection".
``registry`` says which module serves which kind and URL scheme.
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = [
    "AccessReport",
    "Destination",
    "RemoteFile",
    "RetryPolicy",
    "UploadResult",
    "check_destination",
    "config_from_url",
    "from_config",
    "from_url",
    "missing_files",
    "public_config",
    "upload_to_all",
    "with_retry",
]

if TYPE_CHECKING:
    from rookdb.destinations.base import Destination, RemoteFile
    from rookdb.destinations.fanout import UploadResult, missing_files, upload_to_all
    from rookdb.destinations.probe import AccessReport, check_destination
    from rookdb.destinations.registry import config_from_url, from_config, from_url, public_config
    from rookdb.destinations.retry import RetryPolicy, with_retry
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "base": ["Destination", "RemoteFile"],
            "fanout": ["UploadResult", "missing_files", "upload_to_all"],
            "probe": ["AccessReport", "check_destination"],
            "registry": ["config_from_url", "from_config", "from_url", "public_config"],
            "retry": ["RetryPolicy", "with_retry"],
        },
    )
