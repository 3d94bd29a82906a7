"""Draft resources for ``legacy-bridge introspect --wsdl --operation``: where an operation's
answer holds its records, which parameters page, limit or filter, and the fields of a record,
nested ones (header + lines) as ``type: array`` fields."""

from __future__ import annotations

import re
from typing import Any

from zeep.wsdl import Document

from legacy_bridge.drivers.soap.wsdl import select_port

__all__ = ["draft_operation"]

_CONVERTERS = {
    "string": "trim",
    "normalizedString": "trim",
    "token": "trim",
    "int": "int",
    "long": "int",
    "short": "int",
    "integer": "int",
    "decimal": "decimal",
    "double": "float",
    "float": "float",
}


def _complex(element: Any) -> Any:
    inner = getattr(element, "type", None)
    return inner if getattr(inner, "elements", None) else None


def _repeating(element: Any) -> bool:
    return getattr(element, "max_occurs", 1) not in (1, None)


def _xsd_name(element: Any) -> str:
    return getattr(getattr(element.type, "qname", None), "localname", None) or "anyType"


def _scalar(path: str, element: Any) -> dict[str, Any]:
    converter = _CONVERTERS.get(_xsd_name(element))
    return {"column": path, **({"converter": converter} if converter else {})}


def _wrapped(inner: Any) -> tuple[str, Any] | None:
    """(name, element) of a wrapper's lone repeating child (spyne's ``Lines/ManifestLine``)."""
    children = getattr(inner, "elements", None) or []
    if len(children) == 1 and _repeating(children[0][1]):
        return children[0]
    return None


def _array(path: str, element: Any, depth: int) -> dict[str, Any]:
    """A ``type: array`` field of a repeating element: of objects (inner fields, columns inside
    one element) or of scalars."""
    inner = _complex(element)
    if inner is None:
        return {"type": "array", **_scalar(path, element)}
    return {"type": "array", "column": path, "fields": _fields(inner, "", depth + 1)}


def _fields(xsd_type: Any, prefix: str, depth: int = 0, names: str = "") -> dict[str, dict[str, Any]]:
    """Draft fields of a record: scalars by dotted path, a single complex element's scalars
    flattened (``consignee_city``), repeating elements (wrapped or not) as arrays."""
    out: dict[str, dict[str, Any]] = {}
    for name, element in getattr(xsd_type, "elements", None) or []:
        path, field = f"{prefix}.{name}" if prefix else name, names + _snake(name)
        inner = _complex(element)
        wrapped = _wrapped(inner) if inner is not None else None
        if _repeating(element):
            if depth < 3:
                out[field] = _array(path, element, depth)
        elif inner is None:
            out[field] = _scalar(path, element)
        elif wrapped is not None:
            if depth < 3:
                out[field] = _array(f"{path}.{wrapped[0]}", wrapped[1], depth)
        elif depth < 3:
            out.update(_fields(inner, path, depth + 1, field + "_"))
    return out


def _header(xsd_type: Any) -> str | None:
    """The lone element of an answer that is a header: a single complex element whose own
    elements hold data (not only a page token or a count), beside arrays."""
    found = [
        name
        for name, el in getattr(xsd_type, "elements", None) or []
        if (inner := _complex(el)) is not None
        and not _repeating(el)
        and _wrapped(inner) is None
        and any(_complex(c) is None and not _PAGING.search(n) and not _COUNTING.search(n) for n, c in inner.elements)
    ]
    return found[0] if len(found) == 1 else None


def _record_fields(xsd_type: Any) -> dict[str, dict[str, Any]]:
    """Draft fields of one record; a header's fields go without its name (``manifest_no``,
    column ``Header.ManifestNo``) unless one would clash with another field."""
    fields = _fields(xsd_type, "")
    header = _header(xsd_type)
    if header is None:
        return fields
    prefix = _snake(header) + "_"
    short = {n[len(prefix) :] if n.startswith(prefix) else n: f for n, f in fields.items()}
    return short if len(short) == len(fields) else fields


# names that say what a parameter or an answer element is for, in drafts
_PAGING = re.compile(r"(?i)token|cursor|^next|page$")
_LIMITING = re.compile(r"(?i)size$|limit|^max")
_COUNTING = re.compile(r"(?i)count$|total")
_CREATING = re.compile(r"(?i)^(create|add|insert|new|submit|register)")


def _repeated(xsd_type: Any, prefix: str = "", depth: int = 0) -> tuple[str, Any] | None:
    """(path, type) of the first repeating complex element, searched depth first."""
    for name, element in getattr(xsd_type, "elements", None) or []:
        inner = _complex(element)
        if inner is None:
            continue
        path = f"{prefix}.{name}" if prefix else name
        if _repeating(element):
            return path, inner
        found = _repeated(inner, path, depth + 1) if depth < 4 else None
        if found:
            return found
    return None


def _record(xsd_type: Any) -> tuple[str | None, bool, Any]:
    """Where the records sit in an answer: (path, repeats, their type).  The answer
    itself when it has scalars or a header (its nested arrays are details of one record), unless
    they only page or count (NextPageToken, TotalCount): then the first repeating
    complex element; else its lone complex child."""
    elements = getattr(xsd_type, "elements", None) or []
    if any(_complex(el) is None and not _PAGING.search(name) and not _COUNTING.search(name) for name, el in elements):
        return None, False, xsd_type
    if _header(xsd_type) is not None:  # a header beside its lines: one record
        return None, False, xsd_type
    found = _repeated(xsd_type)
    if found:
        return found[0], True, found[1]
    if len(elements) == 1 and _complex(elements[0][1]) is not None:
        return elements[0][0], False, _complex(elements[0][1])
    return None, False, xsd_type


def _answer(body_type: Any) -> tuple[Any, bool]:
    """What zeep returns for a response body of ``body_type``: (its type, a list?).

    zeep hands back the body's lone child rather than the body, and that child's lone
    child (when it has no attributes) rather than the child: GetRateResponse/rate gives
    the Rate, GetEventsResponse/GetEventsResult/Event* the list of events.
    """
    elements = getattr(body_type, "elements", None) or []
    if len(elements) != 1:
        return body_type, False
    element = elements[0][1]
    inner = _complex(element)
    if _repeating(element) or inner is None:
        return inner or element.type, _repeating(element)
    children = inner.elements
    if len(children) == 1 and not getattr(inner, "attributes", None):
        lone = children[0][1]
        return _complex(lone) or lone.type, _repeating(lone)
    return inner, False


def draft_operation(
    document: Document,
    operation: str,
    service: str | None = None,
    port: str | None = None,
    soap_version: str | None = None,
) -> dict[str, Any]:
    """A draft resource for ``operation``: a list if its answer repeats, a create for an
    operation named so that takes a record (with the get it reads back through, when the
    service has one), else a get.  ``also`` holds the other operations the draft binds."""
    _, p = select_port(document, service, port, soap_version)
    op = _operation(p.binding, operation)
    in_elements = _inputs(op)
    out_body = op.output.body
    answer, listed = _answer(out_body.type if out_body is not None else None)
    records, repeats, record_type = (None, True, answer) if listed else _record(answer)
    params = [name for name, _ in in_elements]
    bind: dict[str, Any] = {"operation": operation}
    also: dict[str, Any] = {}
    if _CREATING.match(operation) and in_elements and _complex(in_elements[0][1]) is not None:
        kind, fields = "create", _record_fields(_complex(in_elements[0][1]))  # what the body takes
        bind["params"] = {params[0]: "{body}"}
        if not getattr(record_type, "elements", None):
            bind["returns"] = "key"  # the answer is not a record: the new key, read back by the get
        also = _reading_get(p.binding, operation)
    else:
        fields = _record_fields(record_type)
        kind = "list" if repeats else "get"
        if repeats:
            bind["params"] = {n: _list_placeholder(n, fields) for n in params}
        elif params:
            bind["params"] = {params[0]: "{key}"}
    if records:
        bind["records"] = records
    token = next(
        (
            name
            for name, el in getattr(answer, "elements", None) or []
            if repeats and records and _complex(el) is None and _PAGING.search(name)
        ),
        None,
    )
    if token:
        bind["next"] = token  # the answer's page token, passed back as {page}
    return {"kind": kind, "binding": bind, "fields": fields, "params": params, "also": also}


def _operation(binding: Any, operation: str) -> Any:
    try:
        return binding.get(operation)
    except ValueError:
        raise ValueError(f"no operation {operation!r}; operations: {', '.join(sorted(binding._operations))}") from None


def _inputs(op: Any) -> list[tuple[str, Any]]:
    return getattr(op.input.body.type, "elements", []) if op.input.body is not None else []


# a parameter bounding a range: DateFrom / FromDate (>=), DateTo / ToDate (<=)
_BOUND = re.compile(
    r"^(?:(?P<pre>From|Start|Min|To|End|Max)(?P<tail>[A-Z]\w*)|(?P<head>\w+?)(?P<post>From|Start|Min|To|End|Max))$"
)
_LOWER = ("From", "Start", "Min")


def _list_placeholder(name: str, fields: dict[str, dict[str, Any]]) -> str:
    """A list parameter's placeholder: the page token, the page size, a range bound on the one
    field whose column ends like the parameter's stem (DateFrom -> ShipDate), or a filter."""
    if _PAGING.search(name):
        return "{page}"
    bound = _BOUND.match(name)
    if bound:
        stem, end = (bound["tail"], bound["pre"]) if bound["pre"] else (bound["head"], bound["post"])
        matches = [n for n, f in fields.items() if "type" not in f and f["column"].rsplit(".", 1)[-1].endswith(stem)]
        if len(matches) == 1:
            return f"{{filter.{matches[0]}.{'gte' if end in _LOWER else 'lte'}}}"
    if _LIMITING.search(name):
        return "{limit}"
    return f"{{filter.{_snake(name)}}}"


def _reading_get(binding: Any, operation: str) -> dict[str, Any]:
    """``{"get": ...}`` for the operation that reads what ``operation`` creates (CreateManifest:
    GetManifest, taking one parameter, the key), when the service has one."""
    stem = _CREATING.sub("", operation)
    for name in (f"Get{stem}", f"Read{stem}", f"Find{stem}"):
        if name in binding._operations:
            params = [n for n, _ in _inputs(binding.get(name))]
            if len(params) == 1:
                return {"get": {"operation": name, "params": {params[0]: "{key}"}}}
    return {}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().strip("_")
