"""REST endpoints of every configured resource: list (keyset pages), get (with ETag), and the
writes a resource declares: create (POST), update (PATCH, PUT) and delete, with If-Match."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, g, request

from legacy_bridge.errors import InvalidInput, NotFound
from legacy_bridge.events.idempotency import Claim
from legacy_bridge.formats.jsonio import dumps
from legacy_bridge.query.schema import load_body, parse_body, parse_fields, parse_key, parse_list
from legacy_bridge.resources import Resource
from legacy_bridge.writes import etag_matches, etag_of

from .export import accepted_format, export_response, export_view
from .http import json_response, next_link
from .idempotency import idempotent, pending_hook
from .partitions import partitions_view


def list_view(resource: Resource):
    def view() -> Response:
        fmt = accepted_format()  # Accept: application/x-ndjson or text/csv streams
        if fmt:
            return export_response(resource, fmt)
        query = parse_list(resource, request.args.to_dict(flat=False))
        page = resource.page(query)
        body: dict = {"data": page.records, "next": page.next}
        if query.since is not None:  # resume from here: updated_since=<watermark>
            body["watermark"] = resource.watermark_text(page.watermark) if page.watermark else query.since.text or None
        response = json_response(dumps(body))
        if page.next:
            response.headers["Link"] = next_link(page.next)
        if body.get("watermark"):
            response.headers["X-Watermark"] = body["watermark"]
        return response

    return view


def get_view(resource: Resource):
    def view(key: str) -> Response:
        record = resource.get(
            parse_key(resource, key.rstrip("/").split("/")),
            parse_fields(resource, request.args.get("fields"), request.args.get("embed")),
        )
        if record is None:
            raise NotFound(f"no {resource.name} with key {key!r}", resource=resource.name)
        body = dumps(record)
        etag = etag_of(record)
        if etag_matches(request.headers.get("If-None-Match"), etag):
            response = Response(status=304)
        else:
            response = json_response(body)
        response.headers["ETag"] = etag
        return response

    return view


def _location(resource: Resource, record: dict[str, Any]) -> str | None:
    if not all(record.get(k) is not None for k in resource.key):
        return None
    return f"{request.base_url.rstrip('/')}/" + "/".join(str(record[k]) for k in resource.key)


def _written(record: dict[str, Any], status: int = 200) -> Response:
    response = json_response(dumps(record), status)
    response.headers["ETag"] = etag_of(record)
    return response


def create_view(resource: Resource):
    def view() -> Response:
        payload = request.get_json(silent=True)
        if resource.table_writer is not None:
            return _insert(resource, payload)
        if resource.drop is not None:  # records into the open batch file
            written = resource.drop.write(_bodies(resource, payload), isinstance(payload, list), g.get("key_id"))
            return json_response(dumps(written), 202)
        record = resource.create(parse_body(resource, payload), g.get("key_id"))
        response = json_response(dumps(record if record is not None else {}), 201)
        location = _location(resource, record) if record is not None else None
        if location:
            response.headers["Location"] = location
        return response

    def recover(claim: Claim) -> Response | None:
        """The answer of a create whose worker died after committing it, if it did."""
        if resource.table_writer is None or claim.pending is None:
            return None  # an operation's create leaves nothing to look up
        payload = request.get_json(silent=True)
        bodies = _bodies(resource, payload)
        records = resource.table_writer.committed(claim.pending, bodies)
        return None if records is None else _created(resource, records, isinstance(payload, list))

    return idempotent(resource.name, resource.spec.idempotency, resource.driver.policy.timeout, view, recover)


def close_view(resource: Resource):
    def view() -> Response:
        assert resource.drop is not None
        return json_response(dumps(resource.drop.close()))

    return view


def _bodies(resource: Resource, payload: Any) -> list[dict[str, Any]]:
    """The canonical bodies of a POST: one object, or each element of an array (errors name it)."""
    many = isinstance(payload, list)
    if many and not payload:
        raise InvalidInput("an empty array: give at least one record", parameter="body", slug="invalid-body")
    bodies = []
    contract = None  # built at the first body plain loading cannot take, then kept for the others
    for i, item in enumerate(payload if many else [payload]):
        try:
            if not isinstance(item, dict):
                bodies.append(parse_body(resource, item))  # not an object: parse_body answers its 400
                continue
            plain = resource.plain_body(item)
            if plain is None:
                contract = contract or resource.contract()  # one for every element: building costs more than a load
                plain = load_body(resource, item, contract)
            bodies.append(plain)
        except InvalidInput as error:
            if not many:
                raise
            raise InvalidInput(
                f"[{i}]: {error.detail}", parameter=f"[{i}].{error.extra.get('parameter', '')}", slug="invalid-body"
            ) from None
    return bodies


def _created(resource: Resource, records: list[dict[str, Any]], many: bool) -> Response:
    if many:
        return json_response(dumps({"data": records}), 201)
    response = _written(records[0], 201)
    location = _location(resource, records[0])
    if location:
        response.headers["Location"] = location
    return response


def _insert(resource: Resource, payload: Any) -> Response:
    """POST of one object, or of an array written all or none (errors name the element)."""
    writer = resource.table_writer
    assert writer is not None
    bodies = _bodies(resource, payload)
    many = isinstance(payload, list)
    records = writer.create(bodies, g.get("key_id"), many, pending_hook())
    return _created(resource, records, many)


def _key(resource: Resource, key: str) -> list:
    return parse_key(resource, key.rstrip("/").split("/"))


def update_view(resource: Resource, replace: bool):
    def view(key: str) -> Response:
        writer = resource.writer
        assert writer is not None
        body = parse_body(resource, request.get_json(silent=True))
        record = writer.update(_key(resource, key), body, replace, request.headers.get("If-Match"), g.get("key_id"))
        return _written(record)

    return view


def delete_view(resource: Resource):
    def view(key: str) -> Response:
        writer = resource.writer
        assert writer is not None
        writer.delete(_key(resource, key), request.headers.get("If-Match"), g.get("key_id"))
        return Response(status=204)

    return view


def register(app: Flask, resources: dict[str, Resource], base_path: str, blueprint: str = "resources") -> None:
    """One list and one get route per resource, e.g. ``/v1/customers`` and ``/v1/customers/<key>``
    (``blueprint``: its name, one per API version)."""
    bp = Blueprint(blueprint, __name__)
    for name, resource in resources.items():
        endpoint = name.replace("-", "_")
        if "list" in resource.spec.operations:
            bp.add_url_rule(f"{base_path}/{name}", f"list_{endpoint}", list_view(resource), methods=["GET"])
            # before the get route: /export is the export, not a record whose key is "export"
            bp.add_url_rule(f"{base_path}/{name}/export", f"export_{endpoint}", export_view(resource), methods=["GET"])
            bp.add_url_rule(
                f"{base_path}/{name}/partitions", f"partitions_{endpoint}", partitions_view(resource), methods=["GET"]
            )
        if "create" in resource.spec.operations:  # only resources that declare create
            bp.add_url_rule(f"{base_path}/{name}", f"create_{endpoint}", create_view(resource), methods=["POST"])
        if resource.drop is not None and resource.drop.batched:
            bp.add_url_rule(f"{base_path}/{name}/close", f"close_{endpoint}", close_view(resource), methods=["POST"])
        bp.add_url_rule(f"{base_path}/{name}/<path:key>", f"get_{endpoint}", get_view(resource), methods=["GET"])
        record = f"{base_path}/{name}/<path:key>"
        if "update" in resource.spec.operations:
            bp.add_url_rule(record, f"patch_{endpoint}", update_view(resource, False), methods=["PATCH"])
            bp.add_url_rule(record, f"put_{endpoint}", update_view(resource, True), methods=["PUT"])
        if "delete" in resource.spec.operations:
            bp.add_url_rule(record, f"delete_{endpoint}", delete_view(resource), methods=["DELETE"])
    app.register_blueprint(bp)
