"""Servers the reliability benchmarks start and stop themselves: the web processes (`bin/serve-multi`), a
Redis and a PostgreSQL of their own (never the machine's shared ones, which the fault runs would otherwise
restart under other users).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import REPO

PG_BIN = Path(os.environ.get("CHATREC_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, step: float = 0.2) -> float | None:
    """Call check() until it returns true; return the seconds it took, or None after timeout."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            if check():
                return time.monotonic() - began
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(step)
    return None


def rss_mib(pid: int) -> dict[str, float] | None:
    """Return the process's resident memory now and at its peak (MiB), or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {k: int(v) / 1024 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    return {"rss": round(values.get("VmRSS", 0), 1), "peak": round(values.get("VmHWM", 0), 1)}


def cpu_seconds(pid: int) -> float | None:
    """Return the CPU time (user + system) the process has used so far, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


class WebServers:
    """`bin/serve-multi --workers N` on a free port, with the given environment; a context manager."""

    def __init__(self, workers: int, env: dict[str, str], log_dir: Path, grace: float = 30.0):
        self.workers, self.env, self.log_dir, self.grace = workers, env, log_dir, grace
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.pids: dict[int, int] = {}  # worker index -> pid (the newest, after a restart)
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self.reader: threading.Thread | None = None

    def __enter__(self) -> WebServers:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chatrec_site.servemulti", "--workers", str(self.workers), "--port",
             str(self.port), "--grace", str(self.grace), "--access-log-dir", str(self.log_dir)],
            cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if wait_until(lambda: len(self.pids) == self.workers and self.healthy_pids() == set(self.pids.values()),
                      timeout=120, step=0.5) is None:
            self.stop()
            raise RuntimeError("the web processes did not come up:\n" + "\n".join(self.lines[-40:]))
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.log_dir / "serve-multi.out", "a") as out:
            for line in self.proc.stdout:
                out.write(line)
                out.flush()
                self.lines.append(line.rstrip())
                found = re.match(r"serve-multi: worker (\d+) pid (\d+)$", line.strip())
                if found:
                    self.pids[int(found[1])] = int(found[2])

    def healthy_pids(self, tries: int = 12) -> set[int]:
        """Return the pids that answered /healthz with 200 over a few fresh connections."""
        seen = set()
        for _ in range(tries):
            response = httpx.get(self.base + "/healthz", timeout=5)
            if response.status_code == 200:
                seen.add(response.json()["pid"])
        return seen

    def access_log_pid(self, client_port: int) -> int | None:
        """Return the pid of the worker whose access log shows a connection from this client port."""
        needle = f"127.0.0.1:{client_port} "
        for index, pid in self.pids.items():
            path = self.log_dir / f"worker-{index}.log"
            if path.exists() and needle in path.read_text():
                return pid
        return None

    def signal_worker(self, index: int, signum: int) -> int:
        pid = self.pids[index]
        os.kill(pid, signum)
        return pid

    def stop(self) -> float:
        """SIGTERM the launcher; return the seconds until it and its workers exited."""
        began = time.monotonic()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.grace + 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.reader is not None:
            self.reader.join(timeout=5)  # the launcher's last lines
        return time.monotonic() - began

    def __exit__(self, *exc) -> None:
        self.stop()


class OwnRedis:
    """A redis-server of our own on a free port, in a folder; restartable."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> float | None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=open(self.folder / "redis.log", "a"), stderr=subprocess.STDOUT)
        return wait_until(self.ping, timeout=20)

    def ping(self) -> bool:
        return subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True,
                              timeout=5).stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


class OwnPostgres:
    """A PostgreSQL cluster of our own (initdb in a folder, run as the `postgres` user when we are root)."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.data = folder / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/chatrec"

    def _run(self, *command: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + list(command), capture_output=True, text=True, check=check, timeout=timeout)

    def init(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "chatrec")

    def start(self) -> float:
        began = time.monotonic()
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=on", "start")
        return time.monotonic() - began

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
