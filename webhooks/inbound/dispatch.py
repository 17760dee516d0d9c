"""Hands stored notifications to Celery, off the request path.

Publishing a task costs a broker round trip plus kombu's own work (about 2 ms with Redis and
4-5 ms with the embedded SQLite broker on the benchmark machine), which would double the
acknowledgement time and halve the throughput. So the inbound view only queues the new row's id
in memory; one thread per web process publishes what accumulated during ``BATCH_WINDOW`` as
``webhooks.process_inbound_batch`` tasks of at most ``MAX_BATCH`` ids.

Nothing can be lost this way: the row was committed before the id was queued, and a row no task
processed (the process died before publishing, the broker is down) is picked up by the
periodic sweep. After a failed publish the thread drops what it holds and pauses
``PAUSE_AFTER_FAILURE`` seconds: reaching a broker that is down can take seconds, and the sweep
is the better path meanwhile.

With ``task_always_eager`` (tests, debugging) ids are published at once in the caller's thread.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

MAX_BATCH = 100
# Ids are gathered this long before publishing: publishing costs milliseconds of CPU (kombu,
# plus SQLite for the embedded broker) under the same GIL as the requests, so this caps
# publishes at a few a second per web process whatever the load, for at most this much more
# delay before processing (not before the acknowledgement).
BATCH_WINDOW = 0.2
PAUSE_AFTER_FAILURE = 30.0


def publish(ids: list[int]) -> None:
    from webhooks.inbound.tasks import process_inbound_batch

    # No publish retries: the sweep is the retry.
    process_inbound_batch.apply_async((ids,), retry=False)


class Dispatcher:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.pending: list[int] = []
        # Set when the first id of a window arrives; the request thread never wakes the
        # publisher more than once per window.
        self.wake = threading.Event()
        self.paused_until = 0.0
        self.submitted = 0
        self.published = 0
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, name="inbound-dispatch", daemon=True)
        self.thread.start()

    def submit(self, inbound_id: int) -> None:
        with self.lock:
            self.pending.append(inbound_id)
            self.submitted += 1
            first = len(self.pending) == 1
        if first:
            self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(BATCH_WINDOW)
            self.drain()

    def drain(self) -> None:
        with self.lock:
            taken, self.pending = self.pending, []
            self.wake.clear()
        for start in range(0, len(taken), MAX_BATCH):
            self.send(taken[start : start + MAX_BATCH])

    def send(self, batch: list[int]) -> bool:
        if time.monotonic() < self.paused_until:
            self.dropped += len(batch)
            return False
        try:
            publish(batch)
        except Exception:
            self.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
            self.dropped += len(batch)
            logger.warning(
                "could not enqueue %d inbound notification(s); not trying for %d s, the sweep will process them",
                len(batch),
                PAUSE_AFTER_FAILURE,
                exc_info=True,
            )
            return False
        self.published += len(batch)
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted was handed over (or dropped)."""
        deadline = time.monotonic() + timeout
        while self.published + self.dropped < self.submitted:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


_dispatcher: Dispatcher | None = None
_lock = threading.Lock()


def dispatcher() -> Dispatcher:
    """This process's dispatcher; a forked child gets its own (threads do not survive fork)."""
    global _dispatcher
    current = _dispatcher
    if current is not None and current.pid == os.getpid():
        return current
    with _lock:
        if _dispatcher is None or _dispatcher.pid != os.getpid():
            _dispatcher = Dispatcher()
        return _dispatcher


def enqueue(inbound_id: int) -> None:
    from backoffice.celery import app

    if app.conf.task_always_eager:
        try:
            publish([inbound_id])
        except Exception:
            logger.warning("could not process inbound notification %s inline", inbound_id, exc_info=True)
        return
    dispatcher().submit(inbound_id)


@atexit.register
def _flush_at_exit() -> None:
    current = _dispatcher
    if current is not None and current.pid == os.getpid():
        current.drain()
