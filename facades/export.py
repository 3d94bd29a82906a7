"""Streamed exports: NDJSON or CSV of every record a list would page through.

Two ways in, one behaviour: ``GET /v1/<resource>/export?format=ndjson|csv`` and the list
route with ``Accept: application/x-ndjson`` or ``Accept: text/csv``.  Same filters,
``fields``, ``sort`` and ``updated_since`` as a list; no ``limit`` or ``cursor`` (an
export is every matching row).  The body is a generator: rows are read with
``fetchmany`` on the source's stream pool and encoded in batches, so memory stays flat
whatever the row count; ``Accept-Encoding: gzip`` compresses it as it goes.

The first batch of records is read and encoded before the response starts, so a bad
parameter, a source that is down or a bad record met before anything could be sent (a
flat file under ``reject`` before its first survey) is an ordinary problem+json answer.  After that an error can
only end the stream: NDJSON ends with an ``{"error": {...}}`` line, CSV without its
final CRLF (see :mod:`legacy_bridge.export_formats`), and the log has the error.

A worker streams at most ``service.max_exports`` exports at once (a 503 ``busy`` past
that), so long streams never hold every thread.  Each export's end is logged and
counted: ``complete``, ``broken`` (an error ended it, or the worker stopping) or
``aborted`` (the client went away), with the rows sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from itertools import chain, islice

from flask import Response, current_app, request, stream_with_context

from legacy_bridge.errors import InvalidInput, LegacyBridgeError, Stopping
from legacy_bridge.formats.encoders import FORMATS, MEDIA_TYPES, encoder, error_line, gzip_chunks
from legacy_bridge.ops import metrics, stopping
from legacy_bridge.problems import body_of
from legacy_bridge.query.schema import parse_list
from legacy_bridge.resources import Resource

log = logging.getLogger("legacy_bridge.export")
_CONTENT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8; header=present"}
_PAGE_ONLY = ("limit", "cursor")


def accepted_format() -> str | None:
    """The export format the ``Accept`` header prefers over JSON pages, if any."""
    best = request.accept_mimetypes.best_match(["application/json", *MEDIA_TYPES.values()])
    return FORMATS.get(best or "")


class _Progress:
    """What an export has done so far: records read, records in the chunks handed to the
    server ("sent"; a client that left may not have got the last one), and how it ended
    (None while it runs or when the client left)."""

    __slots__ = ("read", "sent", "outcome")

    def __init__(self) -> None:
        self.read = 0
        self.sent = 0
        self.outcome: str | None = None

    def count(self, records: int) -> None:
        self.read += records


def _guarded(chunks: Iterator[bytes], fmt: str, resource: str, progress: _Progress) -> Iterator[bytes]:
    """The chunks; an error mid-stream (or the end of a stopping worker's grace) is
    logged and ends the stream visibly."""
    try:
        for chunk in chunks:
            if stopping.due():
                raise Stopping("the worker is stopping: the export was cut at the end of its grace")
            progress.sent = progress.read  # the rows of the chunks handed to the server
            yield chunk
        progress.outcome = "complete"
    except Exception as error:  # noqa: BLE001 - the status line is gone: the body must say it
        progress.outcome = "broken"
        log.error(
            "export of %s broken after %d rows: %s",
            resource,
            progress.sent,
            error,
            exc_info=not isinstance(error, LegacyBridgeError),
        )
        if fmt == "ndjson":
            # the last record's newline is still held back (export_formats): the error
            # line starts a line of its own and, itself unterminated, ends the body
            yield (b"\n" if progress.sent else b"") + error_line(body_of(error))


class _Finish:
    """Ends an export once, however its body ends (read to the end, closed when the
    client left, or never read: a HEAD request): the source's stream is closed and the
    worker's export place given back."""

    def __init__(self, *steps: Callable[[], None]) -> None:
        self.steps = steps
        self.done = False

    def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        for step in self.steps:
            step()


def _reported(
    chunks: Iterator[bytes], resource: str, fmt: str, progress: _Progress, finish: _Finish, measured: bool
) -> Iterator[bytes]:
    """The outermost layer of an export's body: ends the export and logs and counts how
    it ended, also when the client went away (the server closes the body: GeneratorExit)."""
    try:
        yield from chunks
    finally:
        finish()
        outcome = progress.outcome or "aborted"
        if outcome == "aborted":
            log.warning("export of %s aborted by the client after %d rows", resource, progress.sent)
        if measured:
            metrics.export_ended(resource, fmt, outcome, progress.sent)


def export_response(resource: Resource, fmt: str, attachment: bool = False) -> Response:
    """The streamed export of the current request's list query in ``fmt``."""
    args = request.args.to_dict(flat=False)
    args.pop("format", None)
    for name in _PAGE_ONLY:
        if name in args:
            raise InvalidInput(f"an export streams every matching row; {name} belongs to pages", parameter=name)
    query = parse_list(resource, args)
    columns = resource.table_columns(query.fields) if fmt == "csv" else query.fields
    bridge = current_app.extensions["legacy_bridge"]
    places = bridge.streams
    places.enter()  # a 503 busy at once when this worker streams enough already
    try:
        export = resource.export(query)
    except BaseException:
        places.leave()
        raise
    finish = _Finish(export.stream.close, places.leave)
    progress = _Progress()
    encoded = encoder(fmt)(export.records, columns, counted=progress.count)
    try:  # the status is not sent yet: an error before the first chunk is still a problem answer
        first = list(islice(encoded, 1))
    except BaseException:
        finish()
        raise
    chunks = _guarded(chain(first, encoded), fmt, resource.name, progress)
    headers = {"Vary": "Accept, Accept-Encoding", "Cache-Control": "no-store"}
    if query.since is not None:
        watermark = export.watermark or query.since.text
        if watermark:
            headers["X-Watermark"] = watermark
    if request.accept_encodings.quality("gzip") > 0:
        chunks = gzip_chunks(chunks)
        headers["Content-Encoding"] = "gzip"
    chunks = _reported(chunks, resource.name, fmt, progress, finish, bridge.config.service["metrics"])
    if attachment:
        headers["Content-Disposition"] = f'attachment; filename="{resource.name}.{fmt}"'
    response = Response(
        stream_with_context(chunks), headers=headers, content_type=_CONTENT_TYPES[fmt], direct_passthrough=True
    )
    response.call_on_close(finish)  # a body never read (HEAD) ends the export too
    return response


def export_view(resource: Resource):
    def view() -> Response:
        fmt = request.args.get("format")  # given empty, it names no format: a 400, as any other
        if fmt is None:
            fmt = accepted_format() or "ndjson"
        if fmt not in MEDIA_TYPES:
            raise InvalidInput(f"format must be one of {', '.join(MEDIA_TYPES)}, got {fmt!r}", parameter="format")
        return export_response(resource, fmt, attachment=True)

    return view
