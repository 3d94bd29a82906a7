"""A resource's ``writes:`` section: which writes its table takes, how new rows get their key,
what the legacy columns the contract does not show receive, and the preconditions.

    writes:
      create: true                 # POST /v1/<r> (one object, or an array in one transaction)
      update: true                 # PATCH (partial) and PUT (replace) /v1/<r>/<key>
      delete: true                 # DELETE /v1/<r>/<key>
      key: client                  # client | identity | max_plus_one | {sequence: NAME} | {procedure: NAME}
      require_if_match: false      # true: PATCH, PUT and DELETE without If-Match are a 428
      defaults:                    # legacy columns the contract does not show
        LAST_UPD_USER: {key_id: true}            # the caller's API key id
        LAST_UPD_DT:   {now: yyyymmdd}           # now, in the column's legacy form (a converter)
        SRC_SYS:       {value: API, on: create}  # a constant; on: create | update | both (default)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from legacy_bridge.config.checker import Checker, parse_duration
from legacy_bridge.contracts.converters import ConversionError, Converter
from legacy_bridge.contracts.converters import build as build_converter
from legacy_bridge.contracts.mapping import FieldMap

__all__ = ["WriteSpec", "Default", "check_writes", "check_idempotency", "KEY_STRATEGIES", "IDEMPOTENCY_DEFAULTS"]

IDEMPOTENCY_DEFAULTS = {"required": False, "expire": 86400.0}

KEY_STRATEGIES = ("client", "identity", "max_plus_one", "sequence", "procedure")
_WRITE_KEYS = {"create", "update", "delete", "key", "require_if_match", "defaults"}
_NOW_TYPES = ("date", "time", "datetime")


@dataclass(frozen=True)
class Default:
    """What one hidden legacy column receives: a constant, now (through ``now``'s converter),
    or the caller's key id; on create, update or both."""

    column: str
    value: Any = None
    now: Converter | None = None
    key_id: bool = False
    on: tuple[str, ...] = ("create", "update")


@dataclass(frozen=True)
class WriteSpec:
    create: bool = False
    update: bool = False
    delete: bool = False
    key: str = "client"
    generator: str | None = None  # the sequence or procedure that hands out keys
    require_if_match: bool = False
    defaults: tuple[Default, ...] = field(default_factory=tuple)

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(op for op in ("create", "update", "delete") if getattr(self, op))


def _check_default(ck: Checker, column: str, node: Any, path: str) -> Default | None:
    if not isinstance(node, dict):
        node = {"value": node}
    ck.unknown(node, {"value", "now", "key_id", "on"}, path)
    given = [k for k in ("value", "now", "key_id") if k in node]
    if len(given) != 1:
        ck.fail(path, "give one of value (a constant), now (a converter) or key_id: true")
        return None
    on = node.get("on", "both")
    if on not in ("create", "update", "both"):
        ck.fail(f"{path}.on", f"expected create, update or both, got {on!r}")
        return None
    when = ("create", "update") if on == "both" else (on,)
    if "key_id" in node:
        if node["key_id"] is not True:
            ck.fail(f"{path}.key_id", "expected true")
        return Default(column, key_id=True, on=when)
    if "now" in node:
        try:
            converter = build_converter(node["now"])
        except ConversionError as exc:
            ck.fail(f"{path}.now", str(exc))
            return None
        if converter.type not in _NOW_TYPES:
            ck.fail(
                f"{path}.now",
                f"converter {converter.name} ({converter.type}) cannot write the time: yyyymmdd, hhmmss, timestamp",
            )
            return None
        return Default(column, now=converter, on=when)
    value = node["value"]
    if isinstance(value, (dict, list)):
        ck.fail(f"{path}.value", "expected a constant (text, number, true/false or null)")
        return None
    return Default(column, value=value, on=when)


def check_writes(
    ck: Checker, node: Any, path: str, fields: dict[str, FieldMap], key: list[str], source: Any, writes_ok: bool
) -> WriteSpec | None:
    """The ``writes:`` of a resource (``writes_ok``: its driver takes writes on tables)."""
    node = ck.mapping(node, path)
    ck.unknown(node, _WRITE_KEYS, path)
    if not writes_ok:
        ck.fail(path, "the source of this resource takes no table writes (ODBC sources do)")
        return None
    if isinstance(source, dict) and source.get("read_only", True) is not False:
        ck.fail(path, "its source is read-only: set read_only: false on the source to write")
    flags = {}
    for op in ("create", "update", "delete", "require_if_match"):
        value = node.get(op, False)
        if not isinstance(value, bool):
            ck.fail(f"{path}.{op}", f"expected true or false, got {value!r}")
        flags[op] = value is True
    if not any(flags[op] for op in ("create", "update", "delete")):
        ck.fail(path, "declares no write: set create, update or delete to true")
    given: Any = node.get("key", "client")
    strategy, generator = given, None
    if isinstance(given, dict) and len(given) == 1 and next(iter(given)) in ("sequence", "procedure"):
        strategy, generator = next(iter(given.items()))
        if not isinstance(generator, str) or not generator:
            generator = None
    if strategy not in KEY_STRATEGIES or (strategy in ("sequence", "procedure") and not generator):
        ck.fail(f"{path}.key", "expected client, identity, max_plus_one, {sequence: NAME} or {procedure: NAME}")
    if strategy != "client" and len(key) != 1:
        ck.fail(f"{path}.key", f"{strategy} makes one key column: the resource's key has {len(key)} fields")
    elif strategy != "client" and key and fields.get(key[0]) is not None:
        if fields[key[0]].type != "integer":
            ck.fail(f"{path}.key", f"{strategy} makes integer keys: field {key[0]!r} is {fields[key[0]].type}")
    mapped = {f.column for f in fields.values() if f.column is not None}
    defaults = []
    for column, spec in ck.mapping(node.get("defaults"), f"{path}.defaults").items():
        if column in mapped:
            ck.fail(f"{path}.defaults.{column}", "is a field's column: a default is for columns the contract hides")
            continue
        default = _check_default(ck, str(column), spec, f"{path}.defaults.{column}")
        if default is not None:
            defaults.append(default)
    nested = [n for n, f in fields.items() if f.nested and f.column is not None]
    if nested:
        ck.fail(path, f"a table row has no nested column: field(s) {', '.join(nested)} cannot be written")
    return WriteSpec(
        create=flags["create"],
        update=flags["update"],
        delete=flags["delete"],
        key=str(strategy),
        generator=generator,
        require_if_match=flags["require_if_match"],
        defaults=tuple(defaults),
    )


def check_idempotency(ck: Checker, node: Any, path: str, creates: bool) -> dict[str, Any]:
    """A resource's ``idempotency: {required, expire}`` (Idempotency-Key on its POST)."""
    if node is None:
        return dict(IDEMPOTENCY_DEFAULTS)
    node = ck.mapping(node, path)
    ck.unknown(node, {"required", "expire"}, path)
    if not creates:
        ck.fail(path, "only for a POST: resources that create records, actions that are not read-only")
    required = node.get("required", False)
    if not isinstance(required, bool):
        ck.fail(f"{path}.required", f"expected true or false, got {required!r}")
    try:
        expire = parse_duration(node.get("expire", IDEMPOTENCY_DEFAULTS["expire"]))
    except ValueError:
        ck.fail(f"{path}.expire", f"expected a duration such as 24h, got {node.get('expire')!r}")
        expire = IDEMPOTENCY_DEFAULTS["expire"]
    if expire < 60:
        ck.fail(f"{path}.expire", "at least 1m: a retry must find the first outcome")
    return {"required": required is True, "expire": expire}
