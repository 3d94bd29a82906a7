"""``legacy-bridge introspect --wsdl``: a WSDL's operations, or a draft resource for one."""

from __future__ import annotations

import yaml

from legacy_bridge.drivers.soap.drafts import draft_operation
from legacy_bridge.drivers.soap.wsdl import build_transport, describe, load_document

__all__ = ["introspect_wsdl"]


def _load(wsdl: str):
    try:
        return load_document(wsdl, build_transport({"timeout": 30, "connect_timeout": 10})), None
    except Exception as exc:  # noqa: BLE001 - reported to the operator, whatever it is
        url = getattr(getattr(exc, "request", None), "url", None)
        needs = f"; it needs {url}, which cannot be fetched" if url and url != wsdl else ""
        return (
            None,
            f"error: cannot load the WSDL {wsdl}{needs}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
        )


def _listing(wsdl: str, document) -> str:
    lines = [f"WSDL {wsdl}"]
    for port in describe(document):
        lines.append(
            f"service {port['service']}, port {port['port']} (SOAP {port['soap'] or '?'}) at {port['address']}"
        )
        for op in port["operations"]:
            faults = f"  faults: {', '.join(op['faults'])}" if op["faults"] else ""
            lines.append(f"  {op['name']} [{op['style']}]({op['input']}) -> {op['output'] or '(nothing)'}{faults}")
    return "\n".join(lines) + "\n\ndraft a resource: legacy-bridge introspect --wsdl WSDL --operation NAME\n"


def _key(fields: dict[str, dict], also: dict) -> str:
    """The draft's key: the scalar field the reading get's parameter names, else the first scalar."""
    scalars = [n for n, f in fields.items() if "type" not in f]
    param = next(iter(also.get("get", {}).get("params", {})), None)
    named = [n for n in scalars if param and fields[n]["column"].rsplit(".", 1)[-1] == param]
    return (named or scalars or ["id"])[0]


def introspect_wsdl(wsdl: str, operation: str | None, source: str, resource: str | None) -> tuple[int, str]:
    """(exit code, text): the operations of ``wsdl``, or a draft YAML for ``operation``."""
    document, error = _load(wsdl)
    if document is None:
        return 1, error
    if operation is None:
        return 0, _listing(wsdl, document)
    try:
        draft = draft_operation(document, operation)
    except ValueError as exc:
        return 1, f"error: {exc}"
    name = resource or draft["binding"]["operation"].lower().replace("_", "-")
    fields = draft["fields"]
    params = draft["binding"].get("params") or {}
    unmatched = []
    for param, template in list(params.items()):
        wanted = template.strip("{}").split(".")  # filter, field[, operator]
        if wanted[0] == "filter" and wanted[1] in fields:
            fields[wanted[1]]["filter"] = True
        elif wanted[0] == "filter":  # no field of that name: the config would not validate
            unmatched.append(param)
            del params[param]
    key = _key(fields, draft["also"])
    bindings = {draft["kind"]: draft["binding"], **draft["also"]}
    body = {
        "sources": {source: {"kind": "soap", "wsdl": wsdl}},
        "resources": {name: {"source": source, "key": [key], **bindings, "fields": fields}},
    }
    notes = [
        f"# draft for operation {operation} ({draft['kind']}); its parameters: {', '.join(draft['params']) or 'none'}",
        "# check the key, the converters, and that every {filter.x} names a field with filter: true",
    ]
    if draft["also"]:
        notes.append("# also bound: " + ", ".join(f"{k} {v['operation']}" for k, v in draft["also"].items()))
    if draft["kind"] == "create" and "get" not in draft["also"]:
        notes.append("# a resource needs a get or a list too: add the operation that reads what this one creates")
    if unmatched:
        notes.append(
            f"# left out (no field of that name to filter on): {', '.join(unmatched)}; "
            "give a constant in params if the service needs a value"
        )
    return 0, "\n".join(notes) + "\n" + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
