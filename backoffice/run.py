"""Start the whole embedded backoffice: web, Celery worker and Celery beat, together.

``make run`` calls this. Ctrl-C (or SIGTERM) stops all three; if one of them dies, the others
are stopped too and the exit status says so, rather than leaving a half-running system.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

BIN = os.path.dirname(sys.executable)


def commands(host: str, port: str) -> dict[str, list[str]]:
    return {
        "web": [
            os.path.join(BIN, "granian"),
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            port,
            "--workers",
            os.environ.get("WEB_WORKERS", "2"),
            "--blocking-threads",
            os.environ.get("WEB_THREADS", "4"),
            "--no-ws",
            "--access-log",
            "backoffice.wsgi:application",
        ],
        "worker": [
            os.path.join(BIN, "celery"),
            "-A",
            "backoffice",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            os.environ.get("WORKER_CONCURRENCY", "2"),
            "--hostname",
            "worker@%h",
        ],
        "beat": [
            os.path.join(BIN, "celery"),
            "-A",
            "backoffice",
            "beat",
            "--loglevel",
            "INFO",
        ],
    }


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    procs: dict[str, subprocess.Popen] = {}
    for name, cmd in commands(host, port).items():
        procs[name] = subprocess.Popen(cmd, start_new_session=True)  # noqa: S603
    print(
        f"Backoffice running on http://{host}:{port}/ (web, worker and beat). Ctrl-C stops all three.",
        flush=True,
    )

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failed = None
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                failed = name
                stopping = True
                break
        time.sleep(0.3)

    # SIGTERM to each main process only: Granian and Celery then shut down warmly (a worker
    # finishes its current task; with acks_late anything unfinished goes back to the queue).
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    if failed:
        print(
            f"The {failed} process stopped unexpectedly (exit {procs[failed].returncode}); stopped the others.",
            file=sys.stderr,
        )
        return 1
    print("Stopped web, worker and beat.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
