"""``GET /<resource>/partitions?n=N``: N signed partition tokens that together read the
resource's (filtered) records once each, as of one moment (see
:mod:`legacy_bridge.query.partitions`); each is read through the list or the export with
``?partition=<token>`` and the same filters.  The view parses and serves; the planning is the
query layer's, the cutting the driver's."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from legacy_bridge.errors import InvalidInput
from legacy_bridge.problems import openapi_response
from legacy_bridge.query.parameters import list_parameters
from legacy_bridge.query.partitions import MAX_PARTITIONS
from legacy_bridge.query.schema import RESERVED, parse_list
from legacy_bridge.resources import Resource

from .http import integer_arg, json_response

__all__ = ["partitions_view", "partitions_operation"]

_HOW = {
    "keys": "key ranges of equal record counts, computed by the database",
    "bytes": "record-aligned byte ranges of the file version served now (F: by arithmetic, V/VB: by "
    "their record or block descriptors; CSV and text lines: one range per file)",
    None: "one partition: this source cannot be split",
}


def partitions_view(resource: Resource):
    def view() -> Response:
        parts = integer_arg("n", None, 1, MAX_PARTITIONS)
        if parts is None:
            raise InvalidInput(f"n: give the number of partitions, 1 to {MAX_PARTITIONS}", parameter="n")
        args = request.args.to_dict(flat=False)
        args.pop("n")
        for name in RESERVED:
            if name in args:
                raise InvalidInput(
                    f"partitions take n and the filters; {name} belongs to the reads of each partition", parameter=name
                )
        tokens, watermark = resource.partitions(parse_list(resource, args), parts)
        data = [{"partition": token, "index": p.index, "records": p.records, "bytes": p.size} for token, p in tokens]
        return json_response({"data": data, "watermark": watermark}, headers={"Cache-Control": "no-store"})

    return view


def partitions_operation(resource: Resource, name: str, suffix: str = "", tag: str = "") -> dict[str, Any]:
    """The OpenAPI operation of the partitions route."""
    filters = [p for p in list_parameters(resource, page=False) if p["name"] not in RESERVED]
    count = {
        "name": "n",
        "in": "query",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PARTITIONS},
        "description": "how many partitions (at most; fewer when there are fewer records or units to cut)",
    }
    partition = {
        "type": "object",
        "required": ["partition", "index", "records", "bytes"],
        "properties": {
            "partition": {"type": "string", "description": "the token: ?partition=<token> on the list or export"},
            "index": {"type": "integer", "minimum": 0},
            "records": {"type": "integer", "nullable": True, "description": "records at the moment, when known"},
            "bytes": {"type": "integer", "nullable": True, "description": "bytes of the file range, when known"},
        },
    }
    body = {
        "type": "object",
        "required": ["data", "watermark"],
        "properties": {
            "data": {"type": "array", "items": partition},
            "watermark": {
                "type": "string",
                "nullable": True,
                "description": "the moment (resources with a watermark): the partitions hold no row "
                "written after it; updated_since=<watermark> pulls those",
            },
        },
    }
    return {
        "get": {
            "tags": [tag or name],
            "operationId": f"partitions_{name}{suffix}",
            "summary": f"Partitions of the matching {name}, for parallel readers",
            "description": f"Signed tokens that together read every matching record once, as of one moment; "
            f"here: {_HOW[resource.capabilities.partitioning]}. Read each with ?partition=<token> "
            "and the same filters on the list or export routes.",
            "parameters": [count, *filters],
            "responses": {
                "200": {"description": "the partitions", "content": {"application/json": {"schema": body}}},
                "400": openapi_response("invalid parameter (the body names it)"),
                "503": openapi_response("the legacy source is unavailable; see Retry-After"),
                "504": openapi_response("the legacy source timed out"),
            },
        }
    }
