"""Survey and key-index builds in the background: one builder per index file, across
workers and hosts.

A file version's survey (its bad records and, for a key, key -> byte offset) takes one pass
over the file: minutes for a gigabyte.  It is built on a daemon thread as soon as the driver
sees the version, never inside a request: a get by key meanwhile answers "index building"
(a 503 with Retry-After) instead of waiting.  Which process builds is decided by a lease
named after the index file (and the index folder's own id, so hosts with their own folders
each build theirs, and hosts sharing one build it once): the holder renews it with its
progress, which every process can show (``/readyz``, ``legacy-bridge index``); the others
wait for the file to appear, and take over when the holder's lease runs out (it died).

Without a state store the leases are this process's own (:class:`LocalLeases`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Protocol

log = logging.getLogger("legacy_bridge")

__all__ = ["Leases", "LocalLeases", "IndexBuilds", "LeaseLost", "Stopped", "Progress"]

LEASE_SECONDS = 30.0
RENEW_EVERY = 1.0  # seconds between progress reports (each one renews the lease)
POLL = 0.5  # how often a process that does not build looks for the file
RETRY_FAILED = 10.0  # seconds before a failed build is tried again


class Leases(Protocol):
    """Named leases with progress (the state store's :class:`~legacy_bridge.events.leases.StoreLeases`)."""

    def take(self, name: str, owner: str, seconds: float) -> bool: ...

    def renew(self, name: str, owner: str, seconds: float, progress: dict[str, Any]) -> bool: ...

    def release(self, name: str, owner: str) -> None: ...

    def holder(self, name: str) -> dict[str, Any] | None: ...


class LocalLeases:
    """Leases of this process only: one builder per index file among its threads."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def take(self, name: str, owner: str, seconds: float) -> bool:
        with self._lock:
            held = self._held.get(name)
            if held is not None and held[0] != owner and held[1] >= time.time():
                return False
            self._held[name] = (owner, time.time() + seconds, {})
            return True

    def renew(self, name: str, owner: str, seconds: float, progress: dict[str, Any]) -> bool:
        with self._lock:
            held = self._held.get(name)
            if held is None or held[0] != owner:
                return False
            self._held[name] = (owner, time.time() + seconds, dict(progress))
            return True

    def release(self, name: str, owner: str) -> None:
        with self._lock:
            if self._held.get(name, ("",))[0] == owner:
                del self._held[name]

    def holder(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            held = self._held.get(name)
        if held is None or held[1] < time.time():
            return None
        return {"owner": held[0], **held[2]}


class LeaseLost(Exception):
    """The builder's lease ran out (it was too slow to renew it); another process builds."""


class Stopped(Exception):
    """The driver closed (the process stops): the build is dropped, its temporary file removed."""


class Progress:
    """How far one build is: records and bytes read of the file version's size."""

    def __init__(self, file: str, size: int, what: str) -> None:
        self.file, self.size, self.what = file, size, what
        self.records = 0
        self.offset = 0
        self.started = time.time()

    def report(self) -> dict[str, Any]:
        elapsed = max(time.time() - self.started, 1e-6)
        done = self.offset / self.size if self.size else 1.0
        rate = self.offset / elapsed
        return {
            "state": "building",
            "file": self.file,
            "what": self.what,
            "records": self.records,
            "bytes": self.offset,
            "size": self.size,
            "percent": round(100 * done, 1),
            "records_per_s": round(self.records / elapsed),
            "eta_s": round((self.size - self.offset) / rate) if rate > 0 else None,
        }


def folder_id(folder: str) -> str:
    """The index folder's own id (made once, kept in the folder): processes sharing the
    folder share the id, and so one builder per index file."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, ".folder-id")
    try:
        with open(path, "x") as f:
            f.write(uuid.uuid4().hex)
    except FileExistsError:
        pass
    with open(path) as f:
        return f.read().strip() or "unknown"


def _forget_builds_when_forked(builds: IndexBuilds) -> None:
    """A forked child has none of its parent's threads: it forgets their builds (and this
    process's own leases), so it builds or waits for itself."""
    ref = weakref.ref(builds)

    def forget() -> None:
        found = ref()
        if found is not None:
            found._threads, found._progress, found._failed = {}, {}, {}
            found._lock = threading.Lock()
            if isinstance(found.leases, LocalLeases):
                found.leases = LocalLeases()

    os.register_at_fork(after_in_child=forget)


class IndexBuilds:
    """The background builds of one driver's surveys."""

    def __init__(self, source: str, folder: str) -> None:
        self.source = source
        self.folder = folder
        self.leases: Leases = LocalLeases()
        self._id = uuid.uuid4().hex[:8]
        self._folder_id: str | None = None
        self._threads: dict[str, threading.Thread] = {}
        self._progress: dict[str, Progress] = {}
        self._failed: dict[str, tuple[str, float]] = {}  # dest -> (error, when)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        _forget_builds_when_forked(self)

    @property
    def owner(self) -> str:
        """This process's name in leases (a forked worker is another builder than its parent)."""
        return f"{socket.gethostname()}:{os.getpid()}:{self._id}"

    def lease_name(self, dest: str) -> str:
        if self._folder_id is None:
            self._folder_id = folder_id(self.folder)
        return f"flatfile-index:{self._folder_id}:{os.path.basename(dest)}"

    def request(self, dest: str, build: Callable[[Progress], Any], progress: Progress) -> None:
        """Have ``dest`` built in the background (at most one thread per file in this process)."""
        with self._lock:
            running = self._threads.get(dest)
            if (running is not None and running.is_alive()) or os.path.exists(dest):
                return
            failed = self._failed.get(dest)
            if failed is not None and time.monotonic() - failed[1] < RETRY_FAILED:
                return  # not at every listing: a build that fails would spin
            self._failed.pop(dest, None)
            thread = threading.Thread(
                target=self._run, args=(dest, build, progress), name=f"legacy-bridge-index-{self.source}", daemon=True
            )
            self._threads[dest] = thread
        thread.start()

    def _run(self, dest: str, build: Callable[[Progress], Any], progress: Progress) -> None:
        name = self.lease_name(dest)
        try:
            while not os.path.exists(dest) and not self._stop.is_set():
                if not self.leases.take(name, self.owner, LEASE_SECONDS):
                    self._stop.wait(POLL)  # another process builds it: wait for the file or its lease to end
                    continue
                try:
                    with self._lock:
                        self._progress[dest] = progress
                    build(progress)
                    log.info(
                        "%s: built %s in %.1f s", self.source, os.path.basename(dest), time.time() - progress.started
                    )
                    return
                except LeaseLost:
                    log.warning("%s: lost the lease on %s; another process builds it", self.source, dest)
                except Stopped:
                    return
                finally:
                    with self._lock:
                        self._progress.pop(dest, None)
                    self.leases.release(name, self.owner)
        except Exception as error:  # noqa: BLE001 - a failed build is reported, and requested again later
            log.warning("%s: building %s failed: %s", self.source, os.path.basename(dest), error)
            with self._lock:
                self._failed[dest] = (str(error), time.monotonic())

    def stepper(self, progress: Progress, dest: str) -> Callable[[int, int], None]:
        """``step(records, offset)``: keeps ``progress`` and, once a second, reports it (the
        lease renewed); raises :class:`LeaseLost` when the lease was lost."""
        name, last = self.lease_name(dest), [time.monotonic()]

        def step(records: int, offset: int) -> None:
            if self._stop.is_set():
                raise Stopped(dest)
            progress.records, progress.offset = records, offset
            if time.monotonic() - last[0] >= RENEW_EVERY:
                last[0] = time.monotonic()
                if not self.leases.renew(name, self.owner, LEASE_SECONDS, progress.report()):
                    raise LeaseLost(dest)

        return step

    def tracked(self, records: Iterator[tuple[int, Any]], progress: Progress, dest: str) -> Iterator[tuple[int, Any]]:
        """``records`` as they are read, with ``progress`` kept and reported (the lease renewed)."""
        step, count = self.stepper(progress, dest), 0
        for offset, row in records:
            count += 1
            if not count & 0x3FFF:  # every 16,384 records: cheap enough to ask the clock
                step(count, offset)
            yield offset, row
        progress.records, progress.offset = count, progress.size

    def close(self) -> None:
        """Stop every build and wait of this process (a build under way is dropped)."""
        self._stop.set()

    def wait(self, dest: str, seconds: float) -> bool:
        """Wait up to ``seconds`` for ``dest``; True when it is there."""
        with self._lock:
            thread = self._threads.get(dest)
        if thread is not None:
            thread.join(seconds)
        return os.path.exists(dest)

    def status(self, dest: str) -> dict[str, Any] | None:
        """How far the build of ``dest`` is (here or in another process), None when no one builds it."""
        with self._lock:
            mine = self._progress.get(dest)
            failed = self._failed.get(dest)
        if mine is not None:
            return {"owner": self.owner, **mine.report()}
        if failed is not None:
            return {"state": "failed", "error": failed[0]}
        found = self.leases.holder(self.lease_name(dest))
        return found if found is None or "state" in found else {**found, "state": "building"}
