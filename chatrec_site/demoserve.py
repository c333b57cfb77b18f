"""`make demo`'s server: Daphne, a Celery worker and the beat scheduler from one command; Ctrl-C stops all three.

`python -m chatrec_site.demoserve --host H --port P` (after migrate, load_demo and train). The worker takes the
bandit updates each feedback press queues (so the dashboard's strategies panel fills during a demo) and beat
runs the periodic schedules (`manage.py setup_schedules`). On the embedded default they share the file broker
under var/; nothing else needs to run.

The three run in sessions of their own, so Ctrl-C in the terminal reaches only this launcher, which sends each
SIGTERM (Daphne closes its connections, the worker finishes its task) and SIGKILL after `--grace` seconds. When
one of them exits on its own, the others are stopped too and the launcher exits with its code.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

APPLICATION = "chatrec_site.asgi:application"
POLL_S = 0.2


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def commands(host: str, port: int) -> dict[str, list[str]]:
    """Return the command line of each process, by name."""
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "chatrec_site", "--quiet"]
    return {
        "web": [python, "-m", "daphne", "-b", host, "-p", str(port), APPLICATION],
        "worker": [*celery, "worker", "--loglevel=WARNING", "--concurrency=1", "--without-heartbeat",
                   "--without-gossip", "--without-mingle"],
        "beat": [*celery, "beat", "--loglevel=WARNING"],
    }


def stop(processes: dict[str, subprocess.Popen], grace: float) -> None:
    """SIGTERM every process still running, then SIGKILL those left after `grace` seconds."""
    for proc in processes.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in processes.values():
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait after SIGTERM before SIGKILL")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")

    stopping = False

    def on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    processes = {name: subprocess.Popen(command, start_new_session=True)
                 for name, command in commands(args.host, args.port).items()}
    say(f"serving http://{args.host}:{args.port}/ with a Celery worker and beat beside it; Ctrl-C stops all three")
    code = 0
    while not stopping:
        ended = {name: proc.returncode for name, proc in processes.items() if proc.poll() is not None}
        if ended:
            name, code = next(iter(ended.items()))
            say(f"{name} exited with {code}; stopping the others")
            break
        time.sleep(POLL_S)
    stop(processes, args.grace)
    say("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
