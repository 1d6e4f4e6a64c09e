"""The destination contract on two S3 implementations: moto (auth on) and s3rver."""

from .contract import DestinationContract


class TestS3OnMoto(DestinationContract):
    backend_fixture = "moto_s3_backend"


class TestS3OnS3rver(DestinationContract):
    backend_fixture = "s3rver_backend"
