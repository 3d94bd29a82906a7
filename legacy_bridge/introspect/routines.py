"""A draft action (YAML) from the catalog's parameter list of a stored procedure or function.

The driver describes the routine (``describe_routine()``: its kind, return type and every
parameter with its mode and type family); this module names the parameters and suggests
converters from their types.  Without sample rows it cannot tell a YYYYMMDD integer or a
Y/N flag from any other: the draft says what to look at.
"""

from __future__ import annotations

from typing import Any

from legacy_bridge.introspect.odbc import field_names, resource_name

__all__ = ["draft_action"]

# parameter name prefixes legacy code marks the direction with (P_CUST, IO_AMT, R_LINES)
_PREFIXES = ("P", "I", "O", "IO", "IN", "OUT", "INOUT", "V", "R", "PI", "PO")


def _converter(param: dict[str, Any]) -> str | None:
    family, scale, size = param["type"], param.get("scale"), param.get("size")
    if family == "integer":
        return "int"
    if family == "decimal":
        return f"{{decimal: {{scale: {scale}}}}}" if scale else "decimal"
    if family == "char":
        return f"{{trim: {{width: {size}}}}}" if size and param["mode"] != "out" else "trim"
    if family == "float":
        return "float"
    if family in ("date", "timestamp"):
        return family
    return None


def _unprefixed(name: str) -> str:
    head, sep, rest = name.partition("_")
    return rest if sep and rest and head.upper() in _PREFIXES else name


def _flow(entries: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in entries.items()) + "}"


def draft_action(description: dict[str, Any], source: str, name: str | None = None) -> str:
    """YAML text of one action under ``actions:``, with a comment on each parameter's type."""
    params = description["params"]
    names = field_names([_unprefixed(p["name"]) for p in params])
    routine = description["routine"]
    action = name or resource_name(routine)
    lines = [f"  {action}:", f"    source: {source}", f"    {description['kind']}: {routine}"]
    lines.append("    read_only: false            # true: a GET with the read scope (the routine writes nothing)")
    if params:
        lines.append("    params:                     # in the routine's argument order")
    cursors = []
    for param in params:
        canonical = names[_unprefixed(param["name"])]
        entries: dict[str, Any] = {"param": param["name"]}
        converter = _converter(param)
        if converter:
            entries["converter"] = converter
        if param["mode"] != "in":
            entries["mode"] = param["mode"]
        sized = param.get("size") and param["type"] == "char" and "(" not in param["type_name"]
        note = param["type_name"] + (f"({param['size']})" if sized else "")
        if param["type"] == "cursor":
            entries["required"] = "false"
            cursors.append(canonical)
            note = "a refcursor: read as the result set below"
        elif param["type"] == "integer":
            note += "; a YYYYMMDD date? converter: yyyymmdd"
        elif param["type"] == "char" and (param.get("size") or 0) == 1:
            note += "; a Y/N flag? converter: flag"
        lines.append(f"      {canonical}: {_flow(entries)}  # {note}")
    if description.get("returns"):
        converter = _converter({"type": description["returns"], "mode": "out"})
        lines.append(f"    returns: {_flow({'converter': converter} if converter else {})}  # {description['returns']}")
    if cursors:
        lines.append("    result_sets:                # fields: the columns each cursor's query selects")
        for cursor in cursors:
            lines.append(f"      - {{name: {cursor.removesuffix('_cursor')}, cursor: {cursor}, fields: {{}}}}")
    return "\n".join(lines) + "\n"
