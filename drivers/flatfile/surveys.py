"""The surveys of a flat-file source's versions: key indexes and bad-records surveys.

Each file version gets its surveys built in the background as soon as it is seen (and, for
X12, its groups acknowledged); a get waits for its key index, a read asks whether the version
was refused.  The driver owns one :class:`Surveys` and keeps to reading.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from functools import partial
from typing import Any

import orjson

from legacy_bridge.drivers.flatfile import index as survey_io
from legacy_bridge.drivers.flatfile.builds import IndexBuilds, Progress
from legacy_bridge.drivers.flatfile.delivery import write_atomically
from legacy_bridge.drivers.flatfile.files import DataFile, open_version
from legacy_bridge.drivers.flatfile.formats import BadRecord
from legacy_bridge.drivers.flatfile.key_scan import text_key_batches
from legacy_bridge.drivers.flatfile.record_columns import PSEUDO, key_reader, open_reader, positions
from legacy_bridge.drivers.flatfile.x12_acks import AckLedger, AckSettings, acknowledge_groups
from legacy_bridge.drivers.flatfile.x12_format import X12Format
from legacy_bridge.errors import FileRejected, IndexBuilding, SourceError, SourceUnavailable

log = logging.getLogger("legacy_bridge")
INDEX_WAIT = 2.0  # a small file's index is built within it: its first get answers at once


class Surveys:
    """The surveys of one source's file versions, built once across workers and hosts."""

    def __init__(
        self, source: str, fmt: Any, reject: bool, layout_id: str, index_dir: str, acks: AckSettings | None
    ) -> None:
        self.source = source
        self.format = fmt
        self.reject = reject
        self.layout_id = layout_id
        self.index_dir = index_dir
        self.index = survey_io.Index()
        self.builds = IndexBuilds(source, index_dir)
        #: key columns whose index each new file version gets (the resources' keys)
        self.keys: set[tuple[str, ...]] = set()
        #: seconds a get by key waits for its index build before answering "index building"
        self.index_wait = INDEX_WAIT
        #: X12 acknowledgements of each new version's groups (``acknowledge:``), written through the ledger
        self.acks = acks
        self.ack_ledger: AckLedger | None = None
        self._surveys: dict[tuple[str, tuple | None], survey_io.Survey] = {}
        self._lock = threading.Lock()

    def passes(self) -> list[tuple[str, ...] | None]:
        """The surveys each version gets.  Under ``reject`` a key index decodes every field
        (a get must know the file holds no bad record): it is the bad-records survey too.
        Under ``quarantine`` it decodes only the key's fields, and one more pass lists the
        bad records."""
        keys: list[tuple[str, ...] | None] = list(sorted(self.keys))
        return keys if self.reject and keys else [*keys, None]

    # -- background builds (see builds.py) ---------------------------------------------

    def start_builds(self, df: DataFile) -> None:
        """The key indexes first (gets wait for them), then the bad-records survey: one
        pass at a time, so a key index gets the CPU (the survey starts at a later listing).
        The acknowledgements of an X12 version's groups are written by a pass of their own, at once."""
        if self.acks is not None and self.ack_ledger is not None:
            done = survey_io.survey_file(self.index_dir, df, self.layout_id, None) + ".acks"
            if not os.path.exists(done):
                progress = Progress(df.name, df.size, "acknowledgements")
                self.builds.request(done, partial(self._acknowledge, df, done), progress)
        for key in self.passes():
            if (df.token, key) in self._surveys:
                continue
            dest = survey_io.survey_file(self.index_dir, df, self.layout_id, key)
            if os.path.exists(dest):
                continue
            self._request(df, key, dest)
            return

    def _request(self, df: DataFile, key: tuple[str, ...] | None, dest: str) -> None:
        what = "key index " + ",".join(key) if key else "bad-records survey"
        self.builds.request(dest, partial(self._build, df, key, dest), Progress(df.name, df.size, what))

    def _build(self, df: DataFile, key: tuple[str, ...] | None, dest: str, progress: Progress) -> survey_io.Survey:
        """One pass over ``df`` (opened again: the version must still be the one seen)."""
        handle, version = open_version(df)
        with handle:
            if version.token != df.token:
                raise SourceError(f"{df.name} was replaced before its survey was built", source=self.source)
            reader = open_reader(self.format, handle, version, self.source)
            where = None if key is None else positions(reader, version, key, self.source)
            if key is not None and where is not None and not self.reject:
                names = list(reader.columns) + list(PSEUDO)
                batches = text_key_batches(
                    self.format, handle, [names[p] for p in where], self.builds.stepper(progress, dest)
                )
                if batches is not None:  # fixed-length records, a text key: a megabyte at a time
                    found = survey_io.build_keys(dest, batches)
                    log.info("%s: indexed %s: %d record(s)", self.source, df.name, found.records)
                    return found
            records = reader.scan()
            if key is not None and where is not None and not self.reject:
                keyed = key_reader(self.format, handle, version, reader, key, self.source)
                if keyed is not None:
                    records, where = keyed.scan(), list(range(len(key)))
            found = survey_io.build(dest, self.builds.tracked(records, progress, dest), where, self.reject)
        log.info("%s: surveyed %s: %d record(s), %d bad", self.source, df.name, found.records, found.bad)
        return found

    def _acknowledge(self, df: DataFile, done: str, progress: Progress) -> None:
        """Acknowledge the groups of ``df`` (each once: the ledger), then mark the version done."""
        assert self.acks is not None and self.ack_ledger is not None and isinstance(self.format, X12Format)
        handle, version = open_version(df)
        with handle:
            if version.token != df.token:
                raise SourceError(f"{df.name} was replaced before it was acknowledged", source=self.source)
            step = self.builds.stepper(progress, done)
            written = list(
                acknowledge_groups(
                    handle,
                    mapping=self.format.mapping,
                    settings=self.acks,
                    ledger=self.ack_ledger,
                    encoding=self.format.encoding,
                    strict=self.format.strict,
                    step=lambda offset: step(0, offset),
                )
            )
        os.makedirs(self.index_dir, exist_ok=True)
        write_atomically(self.index_dir, os.path.basename(done), orjson.dumps({"written": written}))
        log.info("%s: acknowledged %s: %d file(s) written", self.source, df.name, len(written))

    def progress(self, files: Iterable[DataFile], finished: bool = False) -> list[dict[str, Any]]:
        """The surveys of ``files`` being built now, how far each is (and, with ``finished``,
        those done: ``state`` done, and those not started: ``waiting``)."""
        found = []
        for df in files:
            for key in self.passes():
                dest = survey_io.survey_file(self.index_dir, df, self.layout_id, key)
                entry = {"file": df.name, "key": list(key) if key else None}
                if os.path.exists(dest):
                    if finished:
                        found.append({**entry, "state": "done"})
                    continue
                status = self.builds.status(dest)
                if status is not None or finished:
                    found.append({**entry, **(status or {"state": "waiting"})})
        return found

    # -- surveys made or awaited ---------------------------------------------------------

    def known(self, df: DataFile) -> survey_io.Survey | None:
        """A survey of this version already made (by this process or another): the
        bad-records survey (every field decoded) when there is one, else a key index's."""
        with self._lock:
            full = self._surveys.get((df.token, None))
        full = full or survey_io.load(survey_io.survey_file(self.index_dir, df, self.layout_id, None))
        if full is not None or not self.reject:
            return full
        with self._lock:
            return next((found for (token, _), found in self._surveys.items() if token == df.token), None)

    def survey(self, df: DataFile, key: tuple[str, ...] | None, wait: float) -> survey_io.Survey | None:
        """The survey of version ``df`` with an index of ``key``: built in the background
        (here or by another process), awaited ``wait`` seconds at most; None while it is built."""
        memo = (df.token, key)
        found = self._surveys.get(memo)
        if found is not None:
            return found
        if key is not None:
            self.keys.add(key)
        dest = survey_io.survey_file(self.index_dir, df, self.layout_id, key)
        found = survey_io.load(dest)
        if found is None:
            self._request(df, key, dest)
            if not self.builds.wait(dest, wait):
                status = self.builds.status(dest) or {}
                if status.get("state") == "failed":
                    raise SourceUnavailable(
                        f"cannot survey {df.name} or write its index in {self.index_dir}: {status.get('error')}",
                        source=self.source,
                    )
                return None
            found = survey_io.load(dest)
            if found is None:
                return None
        with self._lock:
            self._surveys[memo] = found
        return found

    def indexed(self, df: DataFile, key: tuple[str, ...]) -> survey_io.Survey:
        """The key index of ``df`` for a get; "index building" (503) while it is built."""
        found = self.survey(df, key, self.index_wait)
        if found is None:
            dest = survey_io.survey_file(self.index_dir, df, self.layout_id, key)
            raise IndexBuilding(self.source, df.name, self.builds.status(dest))
        return found

    def surveyed(self, opened: Iterable[tuple[Any, DataFile]], wait: float) -> list[tuple[DataFile, survey_io.Survey]]:
        """Each of the ``opened`` versions surveyed so far (the handles are closed here); the
        surveys of versions no longer served are forgotten."""
        done = []
        for handle, version in opened:
            with handle:
                found = self.known(version) or self.survey(version, self.passes()[-1], wait)
            if found is not None:
                done.append((version, found))
        served = {found.path for _, found in done}
        with self._lock:
            current = {df.token for df, _ in done}
            self._surveys = {m: s for m, s in self._surveys.items() if m[0] in current}
            served |= {s.path for s in self._surveys.values()}
        self.index.forget(served)
        return done

    # -- bad records ---------------------------------------------------------------------

    def refuse_if_rejected(self, df: DataFile, found: survey_io.Survey | None) -> None:
        """Under ``reject``, refuse a version whose survey found a bad record (FileRejected, a 503)."""
        if self.reject and found is not None and found.first_bad is not None:
            raise FileRejected(self.source, df.name, found.first_bad)

    def quarantined(
        self, df: DataFile, found: survey_io.Survey, key: tuple[str, ...], values: list[Any], handle: Any
    ) -> dict | None:
        """The skipped record that has key ``values``, if one has: from the key index when it
        found the bad records itself, else from the bad-records survey (which a key-only index
        leaves to a second pass: a get waits for it as for an index, then answers 503
        index-building), reading what each bad record's key field still says."""
        if self.reject:
            return None  # a file with a bad record is refused whole
        if found.bad:
            return self.index.quarantined(found, values)
        full = self.survey(df, None, self.index_wait)
        if full is None:
            dest = survey_io.survey_file(self.index_dir, df, self.layout_id, None)
            raise IndexBuilding(self.source, df.name, self.builds.status(dest))
        if not full.bad:
            return None
        reader = open_reader(self.format, handle, df, self.source)
        where = positions(reader, df, key, self.source)
        for entry in self.index.bad_records(full, survey_io.MAX_BAD_KEPT):
            bad = reader.read_at(entry["offset"])
            if isinstance(bad, BadRecord) and bad.row is not None:
                if survey_io.key_text([bad.row[p] for p in where]) == survey_io.key_text(values):
                    return entry
        return None

    def close(self) -> None:
        self.builds.close()
        self.index.close()
