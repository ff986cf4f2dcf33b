"""A real `stafettlogg serve` process on a store, and tokens to speak to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import httpx

from bench.stores import ROOT, Store, bench_dir
from stafettlogg.keys import KeyFile
from stafettlogg.tokens import issue_token

READY_DEADLINE = 300.0  # a first start on a big store catches the views up first


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(store: Store, sub: str, role: str, municipalities: list[str],
          service: str | None = None) -> str:
    settings = store.settings()
    return issue_token(
        settings, KeyFile.load_or_create(settings.key_file), sub=sub, name=sub.title(),
        roles=[role], service=service, municipalities=municipalities, now=datetime.now(UTC),
    )


def _child_of(pid: int) -> int:
    """The process a launcher (py-spy) started, once it has started it."""
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.01)
    msg = "py-spy did not start the server"
    raise RuntimeError(msg)


class ServerProcess:
    """`python -m stafettlogg serve` on `store`; started at once, stopped on exit.

    With `profile`, it runs under `py-spy record` (the `bench` extra) from its very
    start, which writes the sampled stacks of its busy threads there (collapsed, one
    line per stack) when the server stops.
    """

    def __init__(self, store: Store, name: str, profile: Path | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = bench_dir() / "logs" / f"{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        env = {**store.process_env(), "STAFETTLOGG_RATE_LIMIT_PER_MINUTE": "1000000",
               "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "stafettlogg", "serve", "--port", str(self.port)]
        if profile is not None:
            py_spy = str(Path(sys.executable).parent / "py-spy")
            command = [py_spy, "record", "--format", "raw", "--rate", "200",
                       "--output", str(profile), "--", *command]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.pid = _child_of(self.process.pid) if profile is not None else self.process.pid

    def wait_ready(self) -> float:
        """Seconds from the start of the process until `/ready` answers 200."""
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while time.perf_counter() - self.started < READY_DEADLINE:
                if self.process.poll() is not None:
                    msg = f"server exited with {self.process.returncode}: see {self.log_path}"
                    raise RuntimeError(msg)
                try:
                    if client.get("/ready").status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
        msg = f"server not ready within {READY_DEADLINE} s: see {self.log_path}"
        raise RuntimeError(msg)

    def memory_mb(self, field: str = "VmRSS") -> float:
        """Resident memory now (VmRSS) or at its highest so far (VmHWM), in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)  # the server (under py-spy, py-spy then ends)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
