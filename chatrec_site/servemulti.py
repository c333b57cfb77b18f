"""Several Daphne processes behind one address: `bin/serve-multi --workers N` (or `make serve-multi`).

The launcher binds the listening socket once and starts N `daphne --fd` processes that inherit it, so the
kernel hands each new connection to whichever process accepts first; no proxy in between. The processes
share the database and, through channels-redis, the channel layer and the rate-limit counters, so more
than one process needs `REDIS_URL` (with the in-memory layer a tab on one process would never hear about
a change made through another, and each process would count limits on its own).

- A worker that dies is started again (after a second, so a worker that cannot start does not spin).
- SIGTERM or SIGINT to the launcher: SIGTERM to every worker (Daphne stops accepting, cancels open
  connections' handlers and exits), then SIGKILL to any still running after `--grace` seconds.
- Lines on stdout say what happened: `serve-multi: listening on http://H:P`, `serve-multi: worker I pid P`,
  `serve-multi: worker I pid P exited with C`, `serve-multi: stopped`. With `--access-log-dir`, worker I
  writes its access log (client address and port of every request and websocket) to `worker-I.log`.
- Behind a reverse proxy, `--proxy-headers` makes each worker take the client's address from the proxy's
  `X-Forwarded-For` (and the scheme from `X-Forwarded-Proto`), so limits per client address count the
  people, not the proxy. Only behind a proxy that overwrites those headers: a client could set them itself.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

APPLICATION = "chatrec_site.asgi:application"
RESTART_DELAY_S = 1.0
POLL_S = 0.2


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
                   proxy_headers: bool = False) -> list[str]:
    """Return the command line of worker `index`: Daphne serving the inherited socket."""
    command = [sys.executable, "-m", "daphne", "--fd", str(sock.fileno())]
    if proxy_headers:
        command.append("--proxy-headers")
    if access_log_dir is not None:
        command += ["--access-log", str(access_log_dir / f"worker-{index}.log")]
    return command + [APPLICATION]


class Launcher:
    """Starts, watches and stops the workers."""

    def __init__(self, sock: socket.socket, workers: int, grace: float, access_log_dir: Path | None,
                 proxy_headers: bool = False):
        self.sock, self.count, self.grace, self.access_log_dir = sock, workers, grace, access_log_dir
        self.proxy_headers = proxy_headers
        self.procs: dict[int, subprocess.Popen] = {}
        self.stopping = False

    def start(self, index: int) -> None:
        command = worker_command(self.sock, index, self.access_log_dir, self.proxy_headers)
        proc = subprocess.Popen(command, pass_fds=(self.sock.fileno(),))
        self.procs[index] = proc
        say(f"worker {index} pid {proc.pid}")

    def request_stop(self, signum, frame) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        for index in range(self.count):
            self.start(index)
        while not self.stopping:
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
    return Launcher(sock, args.workers, args.grace, args.access_log_dir, args.proxy_headers).run()


if __name__ == "__main__":
    sys.exit(main())
