"""The destination contract on Azure Blob Storage (Azurite)."""

from .contract import DestinationContract


class TestAzureOnAzurite(DestinationContract):
    backend_fixture = "azurite_backend"
