"""Servers a fault test may stop, kill and restart: never the machine's own PostgreSQL or NATS.

`ThrowawayPostgres` is a temporary cluster from PostgreSQL's own binaries, `ThrowawayNats` a
`nats-server` with JetStream on a file store; both keep their port and data across a restart, as a
real server coming back would. `Service` runs a `tasktracker` command as a real process.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.services import free_port, port_open, wait_port

TASKTRACKER = str(Path(sys.executable).with_name("tasktracker"))


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb refuses root


class ThrowawayPostgres:
    def __init__(self) -> None:
        pg_ctls = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not pg_ctls:
            raise RuntimeError(
                "no PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql)"
            )
        self.bin_dir = Path(pg_ctls[-1]).parent
        self.dir = tempfile.mkdtemp(prefix="tt-fault-pg-")
        os.chmod(self.dir, 0o777)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        subprocess.run(
            [*_as_postgres(), str(self.bin_dir / "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust"],
            check=True,
            capture_output=True,
        )
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*_as_postgres(), str(self.bin_dir / "pg_ctl"), "-D", self.data, *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-w", "-l", os.path.join(self.dir, "log"), "-o", options, "start")

    def stop(self) -> None:
        self._ctl("-w", "-m", "fast", "stop")

    def destroy(self) -> None:
        if port_open("127.0.0.1", self.port):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayNats:
    def __init__(self) -> None:
        self.binary = shutil.which("nats-server") or str(Path(sys.executable).with_name("nats-server"))
        self.store = tempfile.mkdtemp(prefix="tt-fault-nats-")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", self.store],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port("127.0.0.1", self.port)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def destroy(self) -> None:
        if self.proc is not None:
            self.kill()
        shutil.rmtree(self.store, ignore_errors=True)


class Service:
    """`tasktracker <role>` as a real process; its output goes to a file the test shows on failure."""

    def __init__(self, role: str, env: dict[str, str], log_dir: Path) -> None:
        self.role = role
        self.log_path = log_dir / f"{role}-{free_port()}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([TASKTRACKER, role], env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
