r"""JSON Schemas of field values, in records and in query parameters.

A parameter's schema is never looser than the parser (:mod:`.schema`, which documents each
parameter with these): every value it allows parses, so a client (or a fuzzer) that follows the
document gets no 400 for the form of a value.  Where a regular expression cannot say exactly what parses, it says less
(February 29 is left out, integers keep to the digits their column surely holds).  Digits
are written ``[0-9]``: ``\d`` is any Unicode digit in Python and only ASCII in JSON Schema.
(The cursor is the exception: any text is a well-formed cursor, only a signed one is taken.)
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError, fields

from legacy_bridge.contracts.schema import contract_field, rule_validators
from legacy_bridge.errors import InvalidInput
from legacy_bridge.query.legacy import find_column

if TYPE_CHECKING:  # resources.py runs queries; this only reads its fields
    from legacy_bridge.contracts.mapping import FieldMap
    from legacy_bridge.resources import Resource

_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
DATE = rf"[1-9][0-9]{{3}}-{_MONTH_DAY}"
CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
FRACTION = r"(?:\.[0-9]{1,6})?"
OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
BASE64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"

# Legacy times and timestamps carry no UTC offset: JSON Schema's "time" and "date-time" formats
# (RFC 3339) require one, so they are documented as local ones with a pattern to check them.
# (A record's pattern takes every value a legacy column may hold, year 0001 and February 30
# included: it describes what comes out, where a parameter's says what is taken in.)
LOCAL_TIME = {"format": "partial-time", "pattern": r"^[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?$"}
LOCAL_DATE_TIME = {
    "format": "local-date-time",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?$",
}
RECORD_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "decimal": {"type": "string", "format": "decimal"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", **LOCAL_TIME},
    "datetime": {"type": "string", **LOCAL_DATE_TIME},
    "binary": {"type": "string", "format": "byte", "description": "base64 (RFC 4648, padded)"},
}


def zone_note(resource: Resource) -> str:
    """How a date-time field of ``resource`` reads, for descriptions."""
    zone = resource.timezone
    if zone is None:
        return (
            "a local date-time without UTC offset, as the source holds it (its time zone is not "
            "declared: filters take local times only)"
        )
    return (
        f"a local date-time without UTC offset, in {zone.key} (the source's time zone); filters "
        f"also take one with an offset, converted to {zone.key}"
    )


def item_pattern(resource: Resource, name: str, sent: bool = True) -> tuple[str, dict[str, Any]]:
    """(regular expression without anchors, schema) of one value of field ``name``; ``sent``: the
    value goes to the source (else it is compared here, and any text will do)."""
    fmap = resource.mapping.field(name)
    kind = fmap.value_type
    if fmap.converter.enum:
        names = list(fmap.converter.enum)
        return "(?:" + "|".join(map(re.escape, names)) + ")", {"type": "string", "enum": names}
    if kind == "integer":
        low, high = resource.planner.field_int_range(name) or (None, None)
        if low is None or high is None:
            return r"-?[0-9]+", {"type": "integer"}
        digits = len(str(min(abs(low), high))) - 1 or 1
        sign = "-?" if low < 0 else ""
        return rf"{sign}[0-9]{{1,{digits}}}", {"type": "integer", "minimum": low, "maximum": high}
    if kind == "boolean":
        return "(?:true|false)", {"type": "boolean"}
    if kind == "date":
        return DATE, {"type": "string", "format": "date"}
    if kind == "time":
        clock = CLOCK if fmap.converter.name == "hhmmss" else CLOCK + FRACTION
        return clock, {"type": "string", "format": "partial-time", "pattern": f"^{clock}$"}
    if kind == "datetime":
        stamp = rf"{DATE}T{CLOCK}{FRACTION}" + (f"{OFFSET}?" if resource.timezone else "")
        return stamp, {"type": "string", "format": "local-date-time", "pattern": f"^{stamp}$"}
    if kind == "decimal":
        # an implied decimal point: so many places at most, and an integer the driver can bind;
        # a fixed scale: a number its record can hold (28 digits, the scale's among them)
        places, scale = fmap.converter.places, getattr(fmap.converter, "scale", None)
        whole = 30 if scale is None else 28 - scale
        number = (
            rf"[+-]?[0-9]{{1,{18 - places}}}(?:\.[0-9]{{1,{places}}})?"
            if places
            else rf"[+-]?[0-9]{{1,{whole}}}(?:\.[0-9]{{1,30}})?"
        )
        return number, {"type": "string", "format": "decimal", "pattern": f"^{number}$"}
    if kind == "binary":
        return BASE64, {"type": "string", "format": "byte", "pattern": f"^{BASE64}$"}
    if kind == "number":
        return r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?", {"type": "number"}
    text = text_class(resource, sent=sent)
    return text_class(resource, ",", sent) + "*", (
        {"type": "string"} if text == "[^]" else {"type": "string", "pattern": f"^{text}*$"}
    )


def _escaped(char: str) -> str:
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else char


@cache
def _encodable(encoding: str) -> frozenset[str] | None:
    """The characters a code page holds (None: any); a multi-byte one other than Unicode's is
    taken as ASCII only: the pattern says less than the parser takes, never more."""
    if codecs.lookup(encoding).name.startswith(("utf-8", "utf-16", "utf-32")):
        return None
    chars = set()
    for byte in range(256):
        try:
            chars.add(bytes([byte]).decode(encoding))
        except UnicodeDecodeError:
            pass
    return frozenset(c for c in chars if len(c) == 1)


def _char_class(allowed: list[tuple[int, int]]) -> str:
    return "[" + "".join(_escaped(chr(a)) + ("" if a == b else "-" + _escaped(chr(b))) for a, b in allowed) + "]"


def _runs(points: list[int]) -> list[tuple[int, int]]:
    """Sorted code points as runs (first, last)."""
    runs: list[tuple[int, int]] = []
    for point in points:
        if runs and runs[-1][1] == point - 1:
            runs[-1] = (runs[-1][0], point)
        else:
            runs.append((point, point))
    return runs


def _without(ranges: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` less every range in ``holes``."""
    for low, high in holes:
        ranges = [
            part for a, b in ranges for part in ((a, min(b, low - 1)), (max(a, high + 1), b)) if part[0] <= part[1]
        ]
    return ranges


def text_class(resource: Resource, exclude: str = "", sent: bool = True) -> str:
    """A regular expression character class of the text a filter on ``resource`` may hold: the
    characters its source's code page holds (``sources.<name>.encoding``), but ``exclude`` and what
    the driver cannot send (XML cannot carry control characters).  Spelt as the characters allowed
    (a generator draws from it as it is), except where anything but ``exclude`` will do."""
    driver = resource.capabilities
    unsendable = list(driver.unsendable) if sent else []
    holes = unsendable + [(ord(c), ord(c)) for c in exclude]
    chars = _encodable(driver.encoding) if driver.encoding else None
    if chars is not None:
        return _char_class(_without(_runs(sorted(map(ord, chars))), holes))
    if not unsendable:
        return "[^" + "".join(_escaped(c) for c in exclude) + "]"
    # every code point but surrogates (a lone one is no character: JSON cannot carry it); past
    # U+FFFF too, which the source takes, spelt as characters, so the class counts code points
    # (Python's re, ECMA-262 with the "u" flag that JSON Schema asks for), not UTF-16 units
    return _char_class(_without([(0, 0x10FFFF)], holes + [(0xD800, 0xDFFF)]))


def value_schema(resource: Resource, name: str, sent: bool = True) -> dict[str, Any]:
    """One filter value of field ``name``, as the query grammar parses it."""
    return item_pattern(resource, name, sent)[1]


def body_schema(resource: Resource, name: str) -> dict[str, Any]:
    """One value of field ``name`` in a write's JSON body: what its converter and column take
    (an integer in the column's range, a decimal's digits, a local time without fraction for
    HHMMSS, text of the code page no longer than the column), its rules, null where allowed."""
    fmap = resource.mapping.field(name)
    if fmap.kind == "object":  # a group of the row's own columns
        return {
            "type": "object",
            "nullable": fmap.nullable,
            "additionalProperties": False,
            "properties": {n: body_schema(resource, f"{name}.{n}") for n in fmap.fields},
        }
    if fmap.kind == "array":  # a nested column's elements (SOAP): objects of the inner fields, or values
        items = (
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {n: body_schema(resource, f"{name}.{n}") for n in fmap.fields},
            }
            if fmap.of_objects
            else _value_body(resource, name, fmap)
        )
        return {"type": "array", "items": items, **({"nullable": True} if fmap.nullable else {})}
    schema = _value_body(resource, name, fmap)
    if fmap.nullable:
        schema["nullable"] = True
    return schema


def _value_body(resource: Resource, name: str, fmap: FieldMap) -> dict[str, Any]:
    """One scalar value of field ``name`` in a write's body (see :func:`body_schema`)."""
    schema = dict(item_pattern(resource, name)[1])
    if fmap.value_type == "datetime":  # a body's timestamps are local: no offset is converted
        schema["pattern"] = rf"^{DATE}T{CLOCK}{FRACTION}$"
    if fmap.value_type == "number":
        schema = {"type": "number"}
    found = find_column(resource.capabilities.known_column_types(resource.spec.target), fmap.column or "")
    if schema.get("type") == "string" and "format" not in schema and "enum" not in schema and found is not None:
        if found.length is not None:
            schema["maxLength"] = found.length
    if found is not None and fmap.value_type == "decimal":
        implied = fmap.converter.places
        whole = places = None
        if found.digits is not None:  # DECIMAL(p, s)
            whole, places = found.digits - (found.scale or 0), found.scale or 0
        elif implied and found.high is not None:  # an integer column with an implied point
            whole, places = len(str(found.high)) - 1 - implied, implied
        if whole is not None and places is not None:
            places = min(places, implied) if implied else places
            number = rf"[+-]?[0-9]{{1,{max(whole, 1)}}}" + (rf"(?:\.[0-9]{{1,{places}}})?" if places else "")
            schema["pattern"] = f"^{number}$"
    rules = fmap.rules
    extra: dict[str, Any] = {
        k: v
        for k, v in (
            ("minLength", rules.min_length),
            ("maxLength", rules.max_length),
            ("minimum", rules.minimum),
            ("maximum", rules.maximum),
        )
        if v is not None and not isinstance(v, (dt.date, dt.time))
    }
    if rules.enum is not None:
        extra["enum"] = list(rules.enum)
    schema.update(extra)
    if rules.pattern is not None:  # one pattern per schema: the rule's beside the value's
        schema = {"allOf": [schema, {"pattern": rules.pattern}]}
    return schema


def key_schema(resource: Resource, name: str) -> dict[str, Any]:
    """One key segment of the record path: a value that holds no ``/``."""
    schema = value_schema(resource, name)
    if schema.get("type") == "string" and "format" not in schema and "enum" not in schema:
        return {"type": "string", "pattern": f"^{text_class(resource, '/')}+$"}
    return schema


def like_schema(resource: Resource, sent: bool = True) -> dict[str, Any]:
    """The text of ``startswith`` / ``contains``: one character at least, each one the source holds."""
    text = text_class(resource, sent=sent)
    return {"type": "string", "minLength": 1, **({} if text == "[^]" else {"pattern": f"^{text}+$"})}


def in_list_schema(resource: Resource, name: str, most: int, sent: bool = True) -> dict[str, Any]:
    """``name[in]``: 1 to ``most`` comma-separated values; an empty list is a 400."""
    item = item_pattern(resource, name, sent)[0]
    return {
        "type": "string",
        "minLength": 1,
        "pattern": f"^{item}(?:,{item}){{0,{most - 1}}}$",
        "description": f"1 to {most} comma-separated values (an empty list is a 400, whatever the field's type)",
    }


def since_schema(resource: Resource) -> dict[str, Any]:
    """``updated_since``: the watermark's value (a date + time pair as one timestamp), or empty."""
    names = resource.spec.watermark
    if len(names) == 1:
        item = item_pattern(resource, names[0])[0]
    else:
        item = rf"{DATE}T{CLOCK}" + (f"{OFFSET}?" if resource.timezone else "")
    return {"type": "string", "pattern": f"^(?:{item})?$"}


def names_schema(names: list[str], signed: bool = False, empty: bool = False) -> dict[str, Any]:
    """A comma-separated list of field names (``-`` before a name for descending; ``empty``:
    the empty text too, which means none)."""
    one = ("-?" if signed else "") + "(?:" + "|".join(map(re.escape, names)) + ")"
    listed = f"{one}(?:,{one})*"
    return {"type": "string", "pattern": f"^(?:{listed})?$" if empty else f"^{listed}$"}


# -- parsing one value: text -> canonical value ------------------------------------------


@cache
def _value_field(type_name: str, enum: tuple | None) -> fields.Field:
    return contract_field(type_name, enum, nullable=False)


def _in_source_zone(resource: Resource, value: Any, text: str, parameter: str) -> Any:
    """A date-time with a UTC offset as the naive local time of the source's time zone."""
    if not isinstance(value, (dt.datetime, dt.time)) or value.utcoffset() is None:
        return value
    source = resource.spec.source
    if isinstance(value, dt.time):
        raise InvalidInput(
            f"{parameter}: {text!r} is a time of day with a UTC offset, which no date "
            f"places in a time zone; give the local time of source {source!r}",
            parameter=parameter,
        )
    if resource.timezone is None:
        raise InvalidInput(
            f"{parameter}: {text!r} has a UTC offset, but source {source!r} declares no "
            f"time zone for its timestamps (sources.{source}.timezone, e.g. Europe/Berlin); "
            f"give its local time without an offset",
            parameter=parameter,
        )
    return value.astimezone(resource.timezone).replace(tzinfo=None)


def _invalid(exc: ValidationError, text: str, parameter: str) -> InvalidInput:
    messages = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
    return InvalidInput(f"{parameter}: {text!r} is not valid ({' '.join(map(str, messages))})", parameter=parameter)


def typed_value(resource: Resource, type_name: str, text: str, parameter: str, enum: tuple | None = None) -> Any:
    """``text`` as a canonical value of ``type_name``, in the source's time zone."""
    try:
        value = _value_field(type_name, enum).deserialize(text)
    except ValidationError as exc:
        raise _invalid(exc, text, parameter) from None
    return _in_source_zone(resource, value, text, parameter)


def canonical_value(resource: Resource, name: str, text: str, parameter: str) -> Any:
    """``text`` as a canonical value of field ``name``: typed as the mapping says, then held to
    the supplied contract's own rules for the field (its validators), when there is one."""
    fmap = resource.mapping.field(name)
    value = typed_value(resource, fmap.value_type, text, parameter, fmap.converter.enum)
    supplied = resource.supplied_fields.get(name)
    checks = [*rule_validators(fmap.rules), *(supplied.validators if supplied is not None else ())]
    try:
        for check in checks:
            check(value)
    except ValidationError as exc:
        raise _invalid(exc, text, parameter) from None
    return value
