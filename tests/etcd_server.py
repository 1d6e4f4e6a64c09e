"""A real etcd (Debian's etcd-server) on loopback for tests: one member or a cluster of three."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EtcdMember:
    name: str
    client_url: str
    peer_url: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def healthy(self) -> bool:
        try:
            answer = httpx.get(f"{self.client_url}/health", timeout=1.0)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.json().get("health") == "true"


@dataclass
class EtcdCluster:
    members: list[EtcdMember] = field(default_factory=list)

    @property
    def endpoints(self) -> list[str]:
        return [m.client_url for m in self.members]

    def start_member(self, member: EtcdMember, initial: str, state: str = "new") -> None:
        member.log = member.data_dir.with_suffix(".log")
        member.process = subprocess.Popen(
            [
                ETCD,
                "--name", member.name,
                "--data-dir", str(member.data_dir),
                "--listen-client-urls", member.client_url,
                "--advertise-client-urls", member.client_url,
                "--listen-peer-urls", member.peer_url,
                "--initial-advertise-peer-urls", member.peer_url,
                "--initial-cluster", initial,
                "--initial-cluster-state", state,
                # Short timings so elections settle fast in tests.
                "--heartbeat-interval", "50",
                "--election-timeout", "500",
            ],
            stdout=subprocess.DEVNULL,
            stderr=member.log.open("wb"),
        )  # fmt: skip

    def wait_healthy(self, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while not all(m.healthy() for m in self.members):
            for member in self.members:
                if member.process is not None and member.process.poll() is not None:
                    log = member.log.read_text() if member.log else ""
                    raise AssertionError(f"etcd {member.name} exited: {log[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("etcd did not become healthy in time")
            time.sleep(0.05)

    def stop(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                member.process.terminate()
                try:
                    member.process.wait(10)
                except subprocess.TimeoutExpired:
                    member.process.kill()
                    member.process.wait(10)


def start_etcd(base: Path, size: int = 1) -> EtcdCluster:
    """Start `size` etcd members on free loopback ports under `base`; wait until healthy."""
    cluster = EtcdCluster()
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1, size + 1):
        cluster.members.append(
            EtcdMember(
                name=f"n{n}",
                client_url=f"http://127.0.0.1:{free_port()}",
                peer_url=f"http://127.0.0.1:{free_port()}",
                data_dir=base / f"etcd-n{n}",
            )
        )
    initial = ",".join(f"{m.name}={m.peer_url}" for m in cluster.members)
    for member in cluster.members:
        cluster.start_member(member, initial)
    try:
        cluster.wait_healthy()
    except BaseException:
        cluster.stop()
        raise
    return cluster
