"""The converter contract and its registry (the built-ins are in converters.py).

``to_canonical`` runs on every value read, so it is a plain function of one value.
``to_legacy`` runs once per filter value, so a filter on a canonical field is pushed
down in the legacy system's own terms (``2020-01-01`` -> ``20200101``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["Converter", "ConversionError", "register", "build", "known", "Chain", "check_count"]


class ConversionError(ValueError):
    """A canonical value has no legacy form (or an option is wrong)."""


class Converter:
    """Base class: identity in both directions.

    Subclasses set ``name`` and ``type`` (the canonical type: string, integer,
    number, decimal, boolean, date, time, datetime) and override the two methods.
    Options come from the config: ``{yyyymmdd: {as: str}}`` -> ``YYYYMMDD(as_="str")``.
    """

    name: ClassVar[str] = "none"
    type: str = "string"  # or integer, number, decimal, boolean, date, time, datetime, binary
    #: values the legacy column holds for "no value", besides NULL
    legacy_nulls: tuple = ()
    #: text converters keep prefixes, so startswith/contains can be pushed down
    supports_like: bool = False
    enum: tuple[str, ...] | None = None
    #: the decimal places a filter value may have (an implied decimal point), None: any
    places: int | None = None
    #: decimals: the places and digits every canonical value has (None: as the source gives them),
    #: for the contract's readers that type decimals (Spark's DecimalType)
    value_scale: int | None = None
    value_precision: int | None = None

    def __init__(self, null_if: list | None = None) -> None:
        if null_if is not None:
            self.legacy_nulls = tuple(null_if)

    def to_canonical(self, value: Any) -> Any:
        return value

    def to_legacy(self, value: Any) -> Any:
        return value

    def inline(self) -> str | None:
        """What :meth:`reader` does to a value ``v`` that is not NULL, as one Python
        expression of ``v`` and builtins only, when it is that simple (no sentinels): a row
        reader then runs it in place of a call.  None: the reader is called."""
        return None

    def inline_code(self) -> tuple[str, dict[str, Any]] | None:
        """:meth:`inline` with objects of its own: an expression of a value ``v`` that is not
        NULL, whose ``{name}`` placeholders stand for the objects of the dict (a generated row
        reader makes each a global of its own under a name unique to the field).  None: the
        reader is called."""
        expression = self.inline()
        return None if expression is None else (expression.replace("{", "{{").replace("}", "}}"), {})

    def reader(self) -> Callable[[Any], Any]:
        """The per-value read function, with sentinels and NULL handled once."""
        convert = self.to_canonical
        nulls = frozenset(self.legacy_nulls)
        if not nulls:
            return lambda v: None if v is None else convert(v)
        return lambda v: None if v is None or v in nulls else convert(v)


_REGISTRY: dict[str, type[Converter]] = {}


def register(cls: type[Converter]) -> type[Converter]:
    """Register a converter class under ``cls.name`` (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Converter)):
        raise TypeError(f"{cls!r} is not a Converter subclass")
    _REGISTRY[cls.name] = cls
    return cls


def known() -> list[str]:
    return sorted(_REGISTRY)


class Chain(Converter):
    """Converters applied in order when reading, in reverse when writing."""

    def __init__(self, parts: list[Converter]) -> None:
        super().__init__()
        self.parts = parts
        self.type = parts[-1].type
        self.enum = parts[-1].enum
        self.legacy_nulls = parts[0].legacy_nulls
        self.supports_like = all(p.supports_like for p in parts)
        self._later = [p.reader() for p in parts[1:]]

    def to_canonical(self, value: Any) -> Any:
        value = self.parts[0].to_canonical(value)
        for read in self._later:
            value = read(value)
        return value

    def to_legacy(self, value: Any) -> Any:
        for part in reversed(self.parts):
            value = part.to_legacy(value)
        return value


def build(spec: Any) -> Converter:
    """Build a converter from its config form: a name, ``{name: options}`` or a list.

    Raises:
        ConversionError: unknown name or bad options; the message lists known names.
    """
    if spec is None:
        return _REGISTRY["none"]()
    if isinstance(spec, list):
        if not spec:
            raise ConversionError("an empty converter list")
        parts = [build(s) for s in spec]
        return parts[0] if len(parts) == 1 else Chain(parts)
    options: Any
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, dict) and len(spec) == 1:
        name, options = next(iter(spec.items()))
        options = options if isinstance(options, dict) else {"value": options}
    else:
        raise ConversionError(f"expected a converter name, {{name: options}} or a list, got {spec!r}")
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ConversionError(f"unknown converter {name!r}; known: {', '.join(known())}")
    kwargs = {_option(k): v for k, v in options.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConversionError(f"converter {name!r}: bad options {options!r} ({exc})") from None


def _option(key: Any) -> Any:
    if isinstance(key, bool):  # YAML reads the flag codes' keys `true:` / `false:` as booleans
        return str(key).lower()
    return "as_" if key == "as" else key


def check_count(name: str, value: Any) -> None:
    """Refuse a converter option that must be a whole number >= 0 (or None)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise TypeError(f"{name!r} must be a whole number >= 0, got {value!r}")


#: a memo reader's inline form: the value's conversion found in ``seen`` (for hashable kinds of
#: value), else the reader called (it converts, and remembers what it may)
MEMO_INLINE = "(x if type(v) in {kinds} and (x := {seen}.get(v, {miss})) is not {miss} else {read}(v))"
_MEMO_KINDS = frozenset({int, str})
#: distinct legacy values (dates, codes) a memo reader remembers: a few MiB at most
MEMO_KEPT = 100_000


def memo_reader(
    convert: Callable[[Any], Any], seen: dict[Any, Any], bound: int
) -> tuple[Callable[[Any], Any], dict[str, Any]]:
    """A reader answering each value of a hashable kind (int, str) from ``seen`` (the values
    known from the start, NULL among them), converting and remembering up to ``bound`` others;
    with the objects :data:`MEMO_INLINE` names, for :meth:`Converter.inline_code`."""
    miss = object()

    def read(v: Any) -> Any:
        try:  # any hashable value is looked up (a sentinel 0 matches a Decimal 0 too)
            found = seen.get(v, miss)
        except TypeError:  # unhashable: converted every time
            found = miss
        if found is miss:
            found = convert(v)
            if len(seen) < bound and type(v) in _MEMO_KINDS:
                seen[v] = found
        return found

    return read, {"kinds": _MEMO_KINDS, "seen": seen, "miss": miss, "read": read}
