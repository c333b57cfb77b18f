"""Several Daphne processes behind one address: `bin/serve-multi --workers N` (or `make serve-multi`).

The launcher binds the listening socket once and starts N `daphne --fd` processes that inherit it, so the
kernel hands each new connection to whichever process accepts first; no proxy in between. The processes
share the database and, through channels-redis, the channel layer and the rate-limit counters, so more
than one process needs `REDIS_URL` (with the in-memory layer a tab on one process would never hear about
a change made through another, and each process would count limits on its own).

- A worker that dies is started again (after a second, so a worker that cannot start does not spin).
- A worker that hangs is replaced too. Each worker also listens on a private Unix socket, and the launcher
  asks it for `GET /livez` there every `--probe-interval` seconds (1). A worker with no HTTP answer for
  `--hang-timeout` seconds (10; `--start-timeout`, 90, after it starts) is killed (SIGKILL) and started
  again: a hung worker leaves rotation at most hang-timeout + 0.2 s after its last answer (10.2 s by
  default), and its replacement starts a second later (serving once Django has loaded, a few seconds).
  Any HTTP answer counts as alive (a 503 because Redis is down is not a reason to restart a worker). What
  it catches: a blocked event loop, a stopped process, every HTTP slot (CHATREC_HTTP_CONCURRENCY) held by
  requests that never end; the probe goes through the same ASGI application and guards as real requests.
- SIGTERM or SIGINT to the launcher: SIGTERM to every worker (Daphne stops accepting, cancels open
  connections' handlers and exits), then SIGKILL to any still running after `--grace` seconds.
- Lines on stdout say what happened: `serve-multi: listening on http://H:P`, `serve-multi: worker I pid P`,
  `serve-multi: worker I pid P exited with C`, `serve-multi: worker I pid P did not answer for S s; killing
  it`, `serve-multi: stopped`. With `--access-log-dir`, worker I
  writes its access log (client address and port of every request and websocket) to `worker-I.log`.
- Behind a reverse proxy, `--proxy-headers` makes each worker take the client's address from the proxy's
  `X-Forwarded-For` (and the scheme from `X-Forwarded-Proto`), so limits per client address count the
  people, not the proxy. Only behind a proxy that overwrites those headers: a client could set them itself.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

APPLICATION = "chatrec_site.asgi:application"
RESTART_DELAY_S = 1.0
POLL_S = 0.2
LIVENESS_PATH = "/livez"
PROBE_TIMEOUT_S = 2.0


def say(text: str) -> None:
    print(f"serve-multi: {text}", flush=True)


def listening_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """Return a bound, listening, inheritable TCP socket on host:port (port 0: any free port)."""
    # IPv4 only: Daphne's `--fd` adopts the socket as AF_INET (Twisted's fd endpoint takes no other family).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def worker_command(sock: socket.socket, index: int, access_log_dir: Path | None,
                   proxy_headers: bool = False, probe_socket: Path | None = None) -> list[str]:
    """Return the command line of worker `index`: Daphne serving the inherited socket (and its probe socket)."""
    command = [sys.executable, "-m", "daphne", "--fd", str(sock.fileno())]
    if probe_socket is not None:
        command += ["-u", str(probe_socket)]
    if proxy_headers:
        command.append("--proxy-headers")
    if access_log_dir is not None:
        command += ["--access-log", str(access_log_dir / f"worker-{index}.log")]
    return command + [APPLICATION]


class Worker:
    """One worker process and what its liveness probe last saw."""

    def __init__(self, proc: subprocess.Popen, probe_socket: Path):
        self.proc, self.probe_socket = proc, probe_socket
        self.started = self.last_answer = time.monotonic()
        self.answered = False  # once it has answered, the shorter hang timeout applies

    def probe(self) -> bool:
        """Ask the worker's own socket for /livez; return whether any HTTP answer came within the timeout."""
        try:
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.probe_socket)),
                              timeout=PROBE_TIMEOUT_S) as client:
                client.get(f"http://localhost{LIVENESS_PATH}")
        except httpx.HTTPError:
            return False
        self.last_answer, self.answered = time.monotonic(), True
        return True

    def silent_for(self, now: float) -> float:
        return now - self.last_answer


class Launcher:
    """Starts, watches (exits and hangs) and stops the workers."""

    def __init__(self, sock: socket.socket, workers: int, grace: float, access_log_dir: Path | None,
                 proxy_headers: bool = False, hang_timeout: float = 10.0, start_timeout: float = 90.0,
                 probe_interval: float = 1.0):
        self.sock, self.count, self.grace, self.access_log_dir = sock, workers, grace, access_log_dir
        self.proxy_headers = proxy_headers
        self.hang_timeout, self.start_timeout, self.probe_interval = hang_timeout, start_timeout, probe_interval
        self.procs: dict[int, subprocess.Popen] = {}
        self.workers: dict[int, Worker] = {}
        self.stopping = False
        self.probe_dir = Path(tempfile.mkdtemp(prefix="serve-multi-"))

    def start(self, index: int) -> None:
        probe_socket = self.probe_dir / f"worker-{index}.sock"
        probe_socket.unlink(missing_ok=True)
        command = worker_command(self.sock, index, self.access_log_dir, self.proxy_headers, probe_socket)
        proc = subprocess.Popen(command, pass_fds=(self.sock.fileno(),))
        self.procs[index] = proc
        self.workers[index] = Worker(proc, probe_socket)
        say(f"worker {index} pid {proc.pid}")

    def request_stop(self, signum, frame) -> None:
        self.stopping = True

    def _probe_loop(self) -> None:
        """Probe every running worker each interval (a thread: a probe may wait its whole timeout)."""
        while not self.stopping:
            for worker in list(self.workers.values()):
                if worker.proc.poll() is None and worker.probe_socket.exists():
                    worker.probe()
            time.sleep(self.probe_interval)

    def hung(self, worker: Worker, now: float) -> float | None:
        """Return how long a running worker has been silent past its allowance, or None when it is fine."""
        if worker.proc.poll() is not None:
            return None
        limit = self.hang_timeout if worker.answered else self.start_timeout
        silent = worker.silent_for(now)
        return silent if silent > limit else None

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        for index in range(self.count):
            self.start(index)
        threading.Thread(target=self._probe_loop, name="serve-multi-probe", daemon=True).start()
        while not self.stopping:
            for index, worker in list(self.workers.items()):
                silent = self.hung(worker, time.monotonic())
                if silent is not None and not self.stopping:
                    say(f"worker {index} pid {worker.proc.pid} did not answer for {silent:.0f} s; killing it")
                    worker.proc.kill()
                    worker.proc.wait()
            for index, proc in list(self.procs.items()):
                code = proc.poll()
                if code is not None and not self.stopping:
                    say(f"worker {index} pid {proc.pid} exited with {code}; starting it again")
                    time.sleep(RESTART_DELAY_S)
                    if not self.stopping:
                        self.start(index)
            time.sleep(POLL_S)
        return self.stop()

    def stop(self) -> int:
        """SIGTERM every worker, SIGKILL those still running after the grace period; return 0."""
        began = time.monotonic()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for index, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.0, self.grace - (time.monotonic() - began)))
            except subprocess.TimeoutExpired:
                say(f"worker {index} pid {proc.pid} still running after {self.grace:g} s; killing it")
                proc.kill()
                proc.wait()
            say(f"worker {index} pid {proc.pid} exited with {proc.returncode}")
        shutil.rmtree(self.probe_dir, ignore_errors=True)
        say(f"stopped in {time.monotonic() - began:.1f} s")
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="web processes (default 2)")
    parser.add_argument("--host", default="127.0.0.1", help="an IPv4 address")
    parser.add_argument("--port", type=int, default=8000, help="0: any free port (printed)")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds a worker gets to stop before SIGKILL")
    parser.add_argument("--access-log-dir", type=Path, help="write worker I's access log to DIR/worker-I.log")
    parser.add_argument("--proxy-headers", action="store_true",
                        help="take the client's address and scheme from X-Forwarded-For / X-Forwarded-Proto "
                             "(only behind a reverse proxy that sets them)")
    parser.add_argument("--hang-timeout", type=float, default=10.0,
                        help="kill and restart a worker that has not answered its liveness probe for this long "
                             "(default 10 s)")
    parser.add_argument("--start-timeout", type=float, default=90.0,
                        help="the same allowance for a worker that has not answered yet since it started "
                             "(default 90 s: loading Django and the models)")
    parser.add_argument("--probe-interval", type=float, default=1.0, help="seconds between liveness probes")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        parser.error("more than one worker needs REDIS_URL (a shared channel layer and shared rate limits)")
    if args.access_log_dir is not None:
        args.access_log_dir.mkdir(parents=True, exist_ok=True)
    sock = listening_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    say(f"listening on http://{host}:{port} with {args.workers} worker(s)")
    return Launcher(sock, args.workers, args.grace, args.access_log_dir, args.proxy_headers,
                    hang_timeout=args.hang_timeout, start_timeout=args.start_timeout,
                    probe_interval=args.probe_interval).run()


if __name__ == "__main__":
    sys.exit(main())
