"""The destination contract on Google Cloud Storage (gcp-storage-emulator)."""

from .contract import DestinationContract


class TestGcsOnEmulator(DestinationContract):
    backend_fixture = "gcs_backend"
