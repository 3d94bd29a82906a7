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


def _scalars(xsd_type: Any, prefix: str, depth: int = 0) -> list[tuple[str, str]]:
    """Dotted paths to the scalar leaves of a record (nested arrays left out)."""
    out = []
    for name, element in getattr(xsd_type, "elements", None) or []:
        path = f"{prefix}.{name}" if prefix else name
        inner = _complex(element)
        if inner is None:
            out.append((path, getattr(getattr(element.type, "qname", None), "localname", None) or "anyType"))
        elif not _repeating(element) and depth < 3:
            out += _scalars(inner, path, depth + 1)
    return out


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
    itself when it has scalars (its nested arrays are details of one record), unless
    they only page or count (NextPageToken, TotalCount): then the first repeating
    complex element; else its lone complex child."""
    elements = getattr(xsd_type, "elements", None) or []
    if any(_complex(el) is None and not _PAGING.search(name) and not _COUNTING.search(name) for name, el in elements):
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
    """A draft resource for ``operation``: a list if its answer repeats, else a get."""
    _, p = select_port(document, service, port, soap_version)
    try:
        op = p.binding.get(operation)
    except ValueError:
        raise ValueError(
            f"no operation {operation!r}; operations: {', '.join(sorted(p.binding._operations))}"
        ) from None
    in_elements = getattr(op.input.body.type, "elements", []) if op.input.body is not None else []
    out_body = op.output.body
    answer, listed = _answer(out_body.type if out_body is not None else None)
    records, repeats, record_type = (None, True, answer) if listed else _record(answer)
    params = [name for name, _ in in_elements]
    if _CREATING.match(operation) and in_elements and _complex(in_elements[0][1]) is not None:
        kind, bound = "create", {params[0]: "{body}"}
    elif repeats:
        kind, bound = (
            "list",
            {
                n: "{page}" if _PAGING.search(n) else "{limit}" if _LIMITING.search(n) else f"{{filter.{_snake(n)}}}"
                for n in params
            },
        )
    else:
        kind, bound = "get", {params[0]: "{key}"} if params else {}
    fields = {}
    for path, xsd in _scalars(record_type, ""):
        name = "_".join(_snake(part) for part in path.split("."))
        conv = _CONVERTERS.get(xsd)
        fields[name] = {"column": path, **({"converter": conv} if conv else {})}
    bind: dict[str, Any] = {"operation": operation}
    if bound:
        bind["params"] = bound
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
    return {"kind": kind, "binding": bind, "fields": fields, "params": params}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().strip("_")
