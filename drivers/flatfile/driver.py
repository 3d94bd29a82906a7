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
version on first use (see :mod:`.flatfile_index`).  Bad records follow the source's
``bad_records`` policy: ``reject`` refuses the whole file (503 naming the record and
why), ``quarantine`` skips them and lists them (:meth:`FlatFileDriver.quarantine`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from itertools import islice
from operator import itemgetter
from typing import Any, cast

from legacy_bridge.drivers import deadlines
from legacy_bridge.drivers.base import Driver
from legacy_bridge.drivers.flatfile import index as survey_io
from legacy_bridge.drivers.flatfile.files import DataFile, list_files, open_version
from legacy_bridge.drivers.flatfile.formats import BadRecord
from legacy_bridge.drivers.flatfile.options import build_format, check, index_folder, known_columns, layout_id
from legacy_bridge.drivers.flatfile.splits import byte_ranges
from legacy_bridge.errors import CursorExpired, FileRejected, SourceError, SourceTimeout, SourceUnavailable
from legacy_bridge.query.legacy import Extent, Query, Rows

__all__ = ["FlatFileDriver", "FileRejected", "CursorExpired"]

log = logging.getLogger("legacy_bridge")
PSEUDO = ("__file__", "__record__", "__offset__", "__block__")


def _plain(name: str) -> str:
    return name.upper().replace("-", "_")


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
    partitioning = "bytes"

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self.path = str(options["path"])
        self.pick = options.get("pick", "newest")
        self.reject = options.get("bad_records", "reject") == "reject"
        self.format = build_format(options)
        self.layout_id = layout_id(options)
        self.index_dir = index_folder(options)
        self.index = survey_io.Index()
        self._surveys: dict[tuple[str, tuple | None], survey_io.Survey] = {}
        self._building: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._warned: set[str] = set()
        self.timeout: float | None = options.get("timeout")  # None: local files, read in place

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[str, str]]:
        return check(options)

    @classmethod
    def check_columns(cls, options: dict[str, Any], columns: dict[str, str | tuple[str, ...]]) -> list[tuple[str, str]]:
        """Fields (name -> column) whose column the layout lacks, as (field, message); only
        when the config alone gives the columns (a copybook, declared columns)."""
        known = known_columns(options)
        if known is None:
            return []
        names = {_plain(n) for n in list(known) + list(PSEUDO)}
        return [
            (field, f"column {column!r} is not in the file's layout; columns: {', '.join(known)}")
            for field, column in columns.items()
            if _plain(column if isinstance(column, str) else column[0]) not in names
        ]

    # -- files -----------------------------------------------------------------------

    def files(self) -> list[DataFile]:
        """The file versions served now; none is a 503 until a drop arrives."""
        found = list_files(self.path, self.pick)
        if not found:
            raise SourceUnavailable(f"no data file matches {self.path}", source=self.name)
        return found

    def _reader(self, handle: Any, df: DataFile) -> Any:
        try:
            return self.format.open(handle)
        except ValueError as exc:
            raise SourceError(f"{df.name}: {exc}", source=self.name) from None
        except OSError as exc:
            raise SourceUnavailable(f"{df.name} cannot be read ({exc.strerror})", source=self.name) from None

    def _project(self, reader: Any, df: DataFile, columns: list[str]) -> Callable[[tuple], tuple]:
        """Rows in ``columns`` order from a record (the format's columns + the pseudo-columns)."""
        positions = self._positions(reader, df, columns)
        if len(positions) == 1:
            only = positions[0]
            return lambda row: (row[only],)
        return itemgetter(*positions)

    def _positions(self, reader: Any, df: DataFile, columns: list[str] | tuple[str, ...]) -> list[int]:
        """Where ``columns`` sit in a record; a copybook's INV-NO is also INV_NO (and
        the other way round), as COBOL names are spelt either way in configs."""
        names = {_plain(n): i for i, n in enumerate(list(reader.columns) + list(PSEUDO))}
        missing = [c for c in columns if _plain(c) not in names]
        if missing:
            raise SourceError(
                f"column(s) {', '.join(missing)} not in {df.name}; columns: {', '.join(reader.columns)}",
                source=self.name,
            )
        return [names[_plain(c)] for c in columns]

    # -- surveys: bad records and the key index ----------------------------------------

    def _known(self, df: DataFile) -> survey_io.Survey | None:
        """Any survey of this version already made (by this process or another)."""
        with self._lock:
            for (token, _), found in self._surveys.items():
                if token == df.token:
                    return found
        return survey_io.load(survey_io.survey_file(self.index_dir, df, self.layout_id, None))

    def _survey(self, handle: Any, df: DataFile, key: tuple[str, ...] | None) -> survey_io.Survey:
        """The survey of the opened version ``df`` with an index of ``key``, built once."""
        memo = (df.token, key)
        found = self._surveys.get(memo)
        if found is not None:
            return found
        dest = survey_io.survey_file(self.index_dir, df, self.layout_id, key)
        with self._lock:
            building = self._building.setdefault(dest, threading.Lock())
        with building:
            found = survey_io.load(dest)
            if found is None:
                reader = self._reader(handle, df)
                positions = self._project_positions(reader, df, key)
                try:
                    found = survey_io.build(dest, reader.scan(), positions, self.reject)
                except OSError as exc:
                    raise SourceUnavailable(
                        f"cannot read {df.name} or write its index in {self.index_dir} ({exc.strerror})",
                        source=self.name,
                    ) from None
                log.info("%s: surveyed %s: %d record(s), %d bad", self.name, df.name, found.records, found.bad)
            with self._lock:
                self._surveys[memo] = found
        return found

    def _project_positions(self, reader: Any, df: DataFile, key: tuple[str, ...] | None) -> list[int] | None:
        return None if key is None else self._positions(reader, df, key)

    def _refuse_if_rejected(self, df: DataFile, found: survey_io.Survey | None) -> None:
        if self.reject and found is not None and found.first_bad is not None:
            raise FileRejected(self.name, df.name, found.first_bad)

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
        self._refuse_if_rejected(df, self._known(df))
        reader = self._reader(handle, df)
        project = self._project(reader, df, columns)
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
        for handle, version in self._opened():
            with handle:
                found = self._survey(handle, version, key_columns)
                self._refuse_if_rejected(version, found)
                hit = self.index.lookup(found, list(key.values()))
                if hit is None:
                    continue
                reader = self._reader(handle, version)
                row = reader.read_at(hit[0])
                if row is None or isinstance(row, BadRecord):
                    continue
                positions = self._positions(reader, version, key_columns)
                if survey_io.key_text([row[p] for p in positions]) != wanted:
                    continue
                # a record read by its offset does not know its block (only a cursor needs it)
                return self._project(reader, version, columns)(row + (version.token, hit[1], hit[0], None))
        return None

    # -- operations --------------------------------------------------------------------

    def survey_all(self) -> list[tuple[DataFile, survey_io.Survey]]:
        """Every served file version surveyed (once each): its bad records counted."""
        done = []
        for handle, version in self._opened():
            with handle:
                found = self._known(version) or self._survey(handle, version, None)
            done.append((version, found))
        served = {found.path for _, found in done}
        with self._lock:
            current = {df.token for df, _ in done}
            self._surveys = {m: s for m, s in self._surveys.items() if m[0] in current}
            served |= {s.path for s in self._surveys.values()}
        self.index.forget(served)
        return done

    def probe(self, timeout: float) -> None:
        """Ready when every served file can be read and, under ``reject``, holds no bad record."""
        surveyed = self.survey_all() if self.timeout is None else self._within(self.survey_all)
        for df, found in surveyed:
            self._refuse_if_rejected(df, found)

    def quarantine(self, limit: int = 1000) -> dict[str, Any]:
        """The bad records of the served files: file, record number, byte offset, reason."""
        files: list[dict[str, Any]] = []
        records: list[dict[str, Any]] = []
        for df, found in self.survey_all():
            files.append({"file": df.name, "records": found.records, "bad": found.bad, "complete": found.complete})
            if found.bad and len(records) < limit:
                records += [{"file": df.name, **r} for r in self.index.bad_records(found, limit - len(records))]
        return {
            "policy": "reject" if self.reject else "quarantine",
            "files": files,
            "data": records,
            "total": sum(f["bad"] for f in files),
        }

    def close(self) -> None:
        self.index.close()
