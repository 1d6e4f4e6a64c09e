"""The destination contract on a local folder."""

from .contract import DestinationContract


class TestLocalFolder(DestinationContract):
    backend_fixture = "local_backend"
