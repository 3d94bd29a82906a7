"""Streamed exports: NDJSON or CSV of every record a list would page through.

Two ways in, one behaviour: ``GET /v1/<resource>/export?format=ndjson|csv`` and the list
route with ``Accept: application/x-ndjson`` or ``Accept: text/csv``.  Same filters,
``fields``, ``sort`` and ``updated_since`` as a list; no ``limit`` or ``cursor`` (an
export is every matching row).  The body is a generator: rows are read with
``fetchmany`` on the source's stream pool and encoded in batches, so memory stays flat
whatever the row count; ``Accept-Encoding: gzip`` compresses it as it goes.

The first record is read before the response starts, so a bad parameter or a source
that is down is an ordinary problem+json answer.  After the first byte an error can
only end the stream: NDJSON ends with an ``{"error": {...}}`` line, CSV without its
final CRLF (see :mod:`legacy_bridge.export_formats`), and the log has the error.
"""
from __future__ import annotations

import logging
from itertools import chain
from typing import Any, Iterator

from flask import Response, request, stream_with_context

from legacy_bridge.errors import BadRequest, LegacyBridgeError
from legacy_bridge.export_formats import FORMATS, MEDIA_TYPES, encoder, error_line, gzip_chunks
from legacy_bridge.resources import ListRequest, Resource

from .params import parse_list

log = logging.getLogger("legacy_bridge.export")
_END = object()
_CONTENT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8; header=present"}
_PAGE_ONLY = ("limit", "cursor")


def accepted_format() -> str | None:
    """The export format the ``Accept`` header prefers over JSON pages, if any."""
    best = request.accept_mimetypes.best_match(["application/json", *MEDIA_TYPES.values()])
    return FORMATS.get(best or "")


def _problem(error: BaseException) -> dict[str, Any]:
    if isinstance(error, LegacyBridgeError):
        return error.to_problem()
    return {"type": "urn:legacy-bridge:problem:internal-error", "title": "Internal error", "status": 500,
            "detail": "an unexpected error; the log has the details"}


def _guarded(chunks: Iterator[bytes], fmt: str, resource: str, rows: list[int]) -> Iterator[bytes]:
    """The chunks; an error mid-stream is logged and ends the stream visibly."""
    try:
        yield from chunks
    except Exception as error:    # noqa: BLE001 - the status line is gone: the body must say it
        log.error("export of %s broken after %d rows: %s", resource, rows[0], error,
                  exc_info=not isinstance(error, LegacyBridgeError))
        if fmt == "ndjson":
            yield error_line(_problem(error))


def _counted(records: Iterator[dict], rows: list[int]) -> Iterator[dict]:
    for record in records:
        rows[0] += 1
        yield record


def start(resource: Resource, req: ListRequest) -> tuple[Iterator[dict], str | None]:
    """The records of an export, with the first already read (errors raise here, before any
    byte is sent), and the watermark the export ends at (incremental exports).

    An incremental export reads the highest watermark first and stops there, so the
    ``X-Watermark`` it announces up front is exact even while rows are being written.
    """
    upto = resource.high_watermark(req) if req.incremental else None
    records = resource.stream(req, upto)
    first = next(records, _END)
    if first is _END:
        return iter(()), None
    return chain([first], records), (resource.watermark_text(upto) if upto is not None else None)


def export_response(resource: Resource, fmt: str, attachment: bool = False) -> Response:
    """The streamed export of the current request's list query in ``fmt``."""
    args = request.args.to_dict(flat=False)
    args.pop("format", None)
    for name in _PAGE_ONLY:
        if name in args:
            raise BadRequest(f"an export streams every matching row; {name} belongs to pages",
                             parameter=name)
    req = parse_list(resource, args)
    records, watermark = start(resource, req)
    rows = [0]
    chunks = _guarded(encoder(fmt)(_counted(records, rows), req.fields), fmt, resource.name, rows)
    headers = {"Vary": "Accept, Accept-Encoding", "Cache-Control": "no-store"}
    if req.incremental:
        given = request.args.get("updated_since")
        watermark = watermark or given
        if watermark:
            headers["X-Watermark"] = watermark
    if request.accept_encodings.quality("gzip") > 0:
        chunks = gzip_chunks(chunks)
        headers["Content-Encoding"] = "gzip"
    if attachment:
        headers["Content-Disposition"] = f'attachment; filename="{resource.name}.{fmt}"'
    return Response(stream_with_context(chunks), headers=headers, content_type=_CONTENT_TYPES[fmt],
                     direct_passthrough=True)


def export_view(resource: Resource):
    def view() -> Response:
        fmt = request.args.get("format") or accepted_format() or "ndjson"
        if fmt not in MEDIA_TYPES:
            raise BadRequest(f"format must be one of {', '.join(MEDIA_TYPES)}, got {fmt!r}",
                             parameter="format")
        return export_response(resource, fmt, attachment=True)
    return view
