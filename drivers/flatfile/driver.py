"""Flat files as a source: CSV, fixed-width text and COBOL copybook records.

Records are read in the file's own order (no pushdown, no sort): the facade applies
filters while the rows stream, and pages resume from a keyset cursor of three
pseudo-columns, the file version, the record number, its byte offset and (VB) the
offset of its block, so page 10,000 seeks straight to its first record.  A request reads each file through one
open handle, so a file replaced atomically mid-request is seen whole, old or new;
a cursor taken from a version that has since been replaced is refused (409).

A source on a network mount (NFS, SMB) can hang inside the kernel, where nothing
interrupts a read: with ``timeout`` set, each call (a get, each batch of rows, a
probe) runs on a helper thread and is abandoned at its deadline (a 504; the read
finishes in the background, holding its place in the source's bulkhead).  Without
it, files are read in the request's thread, as local disks need.

Get by key goes through a key -> offset index built by one pass over the file
version (see :mod:`.index`), in the background as soon as the version is seen, by one
process across workers and hosts (see :mod:`.surveys`, :mod:`.builds`): a get by key during the build
waits ``index_wait`` seconds at most, then answers "index building" (503, Retry-After).
Bad records follow the source's ``bad_records`` policy: ``reject`` refuses the whole
file (503 naming the record and why), ``quarantine`` skips them and lists them
(:meth:`FlatFileDriver.quarantine`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, cast

from legacy_bridge.drivers import deadlines
from legacy_bridge.drivers.base import Driver
from legacy_bridge.drivers.flatfile import index as survey_io
from legacy_bridge.drivers.flatfile.batches import Batches, DropRules
from legacy_bridge.drivers.flatfile.builds import Leases
from legacy_bridge.drivers.flatfile.files import DataFile, list_files, open_version
from legacy_bridge.drivers.flatfile.formats import BadRecord
from legacy_bridge.drivers.flatfile.options import (
    build_format,
    check,
    index_folder,
    inner_columns,
    known_columns,
    layout_id,
)
from legacy_bridge.drivers.flatfile.outbound import RecordEncoder, check_drop, record_encoder
from legacy_bridge.drivers.flatfile.record_columns import PSEUDO, open_reader, plain, positions, projection
from legacy_bridge.drivers.flatfile.splits import byte_ranges
from legacy_bridge.drivers.flatfile.surveys import INDEX_WAIT, Surveys
from legacy_bridge.drivers.flatfile.x12_acks import AckLedger, ack_settings
from legacy_bridge.drivers.flatfile.x12_format import X12Format
from legacy_bridge.errors import (
    CursorExpired,
    FileRejected,
    RecordQuarantined,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from legacy_bridge.query.legacy import Extent, Query, Rows

__all__ = ["FlatFileDriver", "FileRejected", "CursorExpired"]

log = logging.getLogger("legacy_bridge")


class FlatFileDriver(Driver):
    """A file, a folder of drops or a glob, read with one record format."""

    kind = "flatfile"
    supports_pushdown = False
    supports_sort = False
    natural_order = PSEUDO
    default_timeout = None  # local files do not go silent; see ``timeout``
    #: a resource over a flat-file source needs no table: the source names the files
    target_optional = True
    lists_quarantine = True
    builds_indexes = True
    partitioning = "bytes"
    takes_drops = True
    writes_acknowledgements = True

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self.path = str(options["path"])
        self.pick = options.get("pick", "newest")
        self.reject = options.get("bad_records", "reject") == "reject"
        self.format = build_format(options)
        self.layout_id = layout_id(options)
        self.index_dir = index_folder(options)
        acks = ack_settings(options) if isinstance(self.format, X12Format) else None
        #: the key indexes and bad-records surveys of each version (and its X12 acknowledgements)
        self.surveys = Surveys(name, self.format, self.reject, self.layout_id, self.index_dir, acks)
        self.builds = self.surveys.builds  # who builds what, and how far each build is
        self._warned: set[str] = set()
        self.timeout: float | None = options.get("timeout")  # None: local files, read in place

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[str, str]]:
        return check(options)

    @classmethod
    def check_drop(cls, options: dict[str, Any], drop: dict[str, Any], columns: list[str]) -> list[tuple[str, str]]:
        return check_drop(options, drop, columns)

    def batches(self, resource: str, rules: DropRules, columns: list[str]) -> tuple[RecordEncoder, Batches]:
        """The encoder of this source's records and the batches of ``resource``'s drops."""
        encoder = record_encoder(self.options, columns)
        return encoder, Batches(resource, rules, encoder)

    @classmethod
    def check_columns(cls, options: dict[str, Any], columns: dict[str, str | tuple[str, ...]]) -> list[tuple[str, str]]:
        """Fields (name -> column) whose column the layout lacks, as (field, message); only
        when the config alone gives the columns (a copybook, declared columns)."""
        known = known_columns(options)
        if known is None:
            return []
        names = {plain(n) for n in list(known) + list(PSEUDO)}
        nested = {plain(n): keys for n, keys in inner_columns(options).items()}
        problems = []
        for field, column in columns.items():
            outer, *inner = (column,) if isinstance(column, str) else column
            if plain(outer) not in names:
                problems.append((field, f"column {outer!r} is not in the file's layout; columns: {', '.join(known)}"))
            elif inner and plain(outer) not in nested:
                problems.append((field, f"column {outer!r} holds one value: only OCCURS tables and groups hold fields"))
            elif any(c not in nested[plain(outer)] for c in inner):  # matched as written: plain dicts are fast
                keys, wrong = nested[plain(outer)], next(c for c in inner if c not in nested[plain(outer)])
                hint = f"spell it {plain(wrong)}" if plain(wrong) in keys else f"its columns: {', '.join(sorted(keys))}"
                problems.append((field, f"column {wrong!r} is not inside {outer!r}: {hint}"))
        return problems

    # -- files -----------------------------------------------------------------------

    def files(self) -> list[DataFile]:
        """The file versions served now; none is a 503 until a drop arrives.  A version
        not surveyed yet gets its surveys built in the background from now on."""
        found = list_files(self.path, self.pick)
        if not found:
            raise SourceUnavailable(f"no data file matches {self.path}", source=self.name)
        for df in found:
            self.surveys.start_builds(df)
        return found

    # -- background builds (see surveys.py) --------------------------------------------

    def use_leases(self, leases: Leases) -> None:
        """Decide who builds an index with ``leases`` (the state store's: across hosts)."""
        self.builds.leases = leases

    def use_acknowledgements(self, ledger: AckLedger) -> bool:
        """Acknowledge each new version's X12 groups through ``ledger`` (when ``acknowledge:`` asks)."""
        self.surveys.ack_ledger = ledger
        return self.surveys.acks is not None

    def watch_keys(self, key: tuple[str, ...], start: bool = True) -> None:
        """Index each file version on ``key`` (legacy column names) as soon as it is seen;
        ``start``: look for versions now (else at the next listing of the files)."""
        self.surveys.keys.add(tuple(key))
        if start:
            try:
                self.files()
            except SourceError:
                pass  # no file yet (or unreadable): its builds start when one is listed

    def index_progress(self, finished: bool = False) -> list[dict[str, Any]]:
        """The surveys of the served versions being built now, how far each is (and, with
        ``finished``, those done: ``state`` done, and those not started: ``waiting``)."""
        return self.surveys.progress(self.files(), finished)  # listing starts each version's next pass

    # -- reads -----------------------------------------------------------------------

    def _resume(self, files: list[DataFile], after: tuple | None) -> tuple[int, tuple | None]:
        """Where a cursor resumes: the index of its file in ``files`` and (token, recno, offset, block)."""
        if after is None:
            return 0, None
        token = str(after[0])
        name = token.partition("|")[0]
        for i, df in enumerate(files):
            if df.name == name:
                block = None if after[3] is None else int(after[3])
                return i, (token, int(after[1]), int(after[2]), block)
        raise CursorExpired(
            f"{name} is no longer served (a newer drop replaced it); start the walk again without the cursor",
            source=self.name,
            file=name,
        )

    # -- calls bounded by a helper thread (``timeout``) -----------------------------

    def _within(self, call: Callable[[], Any], dispose: Callable[[Any], Any] = lambda _: None) -> Any:
        """``call()`` on a helper thread, abandoned at the call's deadline (a 504)."""
        deadline = deadlines.deadline((self.timeout or 0.0) + deadlines.GRACE)  # called only with a timeout
        try:
            return deadlines.run_bounded(call, deadline, dispose, name=f"legacy-bridge-file-{self.name}")
        except deadlines.Abandoned:
            error = SourceTimeout(f"source {self.name!r} did not answer in time", self.name)
            error.discarded = "abandoned"
            raise error from None

    def fetch(self, target: dict[str, Any], query: Query) -> Rows:
        rows = self._read(target, query)
        if self.timeout is None:
            yield from rows
            return
        size = 1000 if query.limit is None else query.limit + 1
        abandoned = False
        try:
            while True:
                try:
                    batch = self._within(lambda: list(islice(rows, size)), lambda _: rows.close())
                except SourceTimeout:
                    abandoned = True  # the helper still reads: it closes the rows when done
                    raise
                if not batch:
                    return
                yield from batch
        finally:
            if not abandoned:
                rows.close()

    def byte_ranges(self, parts: int) -> list[Extent]:
        """Each served file version cut into record-aligned ranges (:mod:`.splits`), the ``parts``
        shared by size, at least one per file."""
        opened = list(self._opened())
        total = sum(df.size for _, df in opened) or 1
        ranges: list[Extent] = []
        for handle, df in opened:
            with handle:
                ranges += byte_ranges(self.format, handle, df, max(1, round(parts * df.size / total)))
        return ranges

    def _within_extent(self, files: list[DataFile], extent: Extent | None) -> list[DataFile]:
        """The file a partition reads (its version is checked when it is opened)."""
        if extent is None:
            return files
        name = extent.file.partition("|")[0]
        found = [df for df in files if df.name == name]
        if not found:
            raise CursorExpired(
                f"{name} is no longer served (a newer drop replaced it); plan the partitions again",
                source=self.name,
                file=name,
            )
        return found

    def _read(self, target: dict[str, Any], query: Query) -> Rows:
        columns = cast("list[str]", query.columns)  # flat files do not sort: no sort value is asked of them
        files = self._within_extent(self.files(), query.extent)
        first, resume = self._resume(files, query.after)
        for df in files[first:]:
            try:
                handle, version = open_version(df)
            except FileNotFoundError:  # removed since the listing: it is no longer served
                if resume is not None:
                    raise CursorExpired(
                        f"{df.name} is gone; start again without the cursor", source=self.name, file=df.name
                    ) from None
                continue
            with handle:
                yield from self._rows(handle, version, columns, resume, query.extent)
            resume = None

    def _rows(
        self, handle: Any, df: DataFile, columns: list[str], resume: tuple | None, extent: Extent | None = None
    ) -> Rows:
        if (resume is not None and resume[0] != df.token) or (extent is not None and extent.file != df.token):
            raise CursorExpired(
                f"{df.name} was replaced since this cursor (or partition) was issued; start again without it",
                source=self.name,
                file=df.name,
            )
        self.surveys.refuse_if_rejected(df, self.surveys.known(df))
        reader = open_reader(self.format, handle, df, self.name)
        project = projection(reader, df, columns, self.name)
        if resume is not None:
            recno, start, block = resume[1:]
        elif extent is not None:  # a partition starts at its first record (0: the reader's first)
            recno, start, block = extent.record, extent.start or None, extent.block
        else:
            recno, start, block = 0, None, None
        end = extent.end if extent is not None else None
        records = reader.scan(start, block)
        if resume is not None:
            next(records, None)  # the cursor's own record was on the previous page
        for offset, row in records:
            if end is not None and offset >= end:
                return  # the next partition's first record
            recno += 1
            if isinstance(row, BadRecord):
                self._bad(df, recno, offset, row)
                if row.fatal:
                    return
                continue
            yield project(row + (df.token, recno, offset, reader.block))

    def _bad(self, df: DataFile, recno: int, offset: int, bad: BadRecord) -> None:
        entry = {"record": recno, "offset": offset, "reason": bad.reason, "field": bad.field}
        if self.reject:
            raise FileRejected(self.name, df.name, entry)
        if df.token not in self._warned:  # listed by quarantine(); logged once per version
            self._warned.add(df.token)
            log.warning(
                "%s: %s has bad records, skipped (quarantine); first: record %d: %s",
                self.name,
                df.name,
                recno,
                bad.reason,
            )

    def get(self, target: dict[str, Any], key: dict[str, Any], columns: list[str]) -> tuple | None:
        """The first record with ``key``, found through the file version's index."""
        if self.timeout is None:
            return self._get(key, columns)
        return self._within(lambda: self._get(key, columns))

    def _opened(self) -> Iterator[tuple[Any, DataFile]]:
        """Each served file opened at its current version (the caller closes the handle);
        a file removed since the listing is no longer served."""
        for df in self.files():
            try:
                yield open_version(df)
            except FileNotFoundError:
                continue

    def _get(self, key: dict[str, Any], columns: list[str]) -> tuple | None:
        key_columns, wanted = tuple(key), survey_io.key_text(list(key.values()))
        quarantined: tuple[DataFile, dict] | None = None
        for handle, version in self._opened():
            with handle:
                found = self.surveys.indexed(version, key_columns)
                self.surveys.refuse_if_rejected(version, self.surveys.known(version) or found)
                hit = self.surveys.index.lookup(found, list(key.values()))
                if hit is None:
                    bad = self.surveys.quarantined(version, found, key_columns, list(key.values()), handle)
                    if bad is not None and quarantined is None:
                        quarantined = (version, bad)
                    continue
                reader = open_reader(self.format, handle, version, self.name)
                row = reader.read_at(hit[0])
                if isinstance(row, BadRecord):  # a key-only index took its key: the record is skipped
                    if quarantined is None and not self.reject:
                        quarantined = (version, survey_io.bad_entry(hit[1], hit[0], row))
                    continue
                if row is None:
                    continue
                where = positions(reader, version, key_columns, self.name)
                if survey_io.key_text([row[p] for p in where]) != wanted:
                    continue
                # a record read by its offset does not know its block (only a cursor needs it)
                return projection(reader, version, columns, self.name)(row + (version.token, hit[1], hit[0], None))
        if quarantined is not None:  # no good record has the key, a skipped one has
            raise RecordQuarantined(self.name, quarantined[0].name, quarantined[1])
        return None

    # -- operations --------------------------------------------------------------------

    def survey_all(self, wait: float = INDEX_WAIT) -> list[tuple[DataFile, survey_io.Survey]]:
        """Every served file version surveyed so far: its bad records counted (a version
        whose survey is still being built is left out: :meth:`index_progress` shows it)."""
        return self.surveys.surveyed(self._opened(), wait)

    def probe(self, timeout: float) -> None:
        """Ready when every served file can be read and, under ``reject``, holds no bad record."""
        surveyed = self.survey_all(timeout) if self.timeout is None else self._within(lambda: self.survey_all(timeout))
        for df, found in surveyed:
            self.surveys.refuse_if_rejected(df, found)

    def quarantine(self, limit: int = 1000) -> dict[str, Any]:
        """The bad records of the served files: file, record number, byte offset, reason."""
        files: list[dict[str, Any]] = []
        records: list[dict[str, Any]] = []
        for df, found in self.survey_all():
            files.append({"file": df.name, "records": found.records, "bad": found.bad, "complete": found.complete})
            if found.bad and len(records) < limit:
                records += [{"file": df.name, **r} for r in self.surveys.index.bad_records(found, limit - len(records))]
        return {
            "policy": "reject" if self.reject else "quarantine",
            "files": files,
            "data": records,
            "total": sum(f["bad"] for f in files),
        }

    def close(self) -> None:
        self.surveys.close()
