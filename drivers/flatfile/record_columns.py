"""Where a record's columns sit: the format's columns, then the pseudo-columns of a cursor.

Reads and the background surveys both open readers and find key columns by name, so the
helpers live here, below both of them.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from legacy_bridge.drivers.flatfile.files import DataFile
from legacy_bridge.errors import SourceError, SourceUnavailable

#: the cursor's pseudo-columns: the file version, the record number, its byte offset, its (VB) block
PSEUDO = ("__file__", "__record__", "__offset__", "__block__")


def plain(name: str) -> str:
    """``name`` as a COBOL name is matched: INV-NO and inv_no are both INV_NO."""
    return name.upper().replace("-", "_")


def open_reader(fmt: Any, handle: Any, df: DataFile, source: str) -> Any:
    """``fmt``'s reader of ``handle``; a layout that does not fit or an unreadable file is the source's error."""
    try:
        return fmt.open(handle)
    except ValueError as exc:
        raise SourceError(f"{df.name}: {exc}", source=source) from None
    except OSError as exc:
        raise SourceUnavailable(f"{df.name} cannot be read ({exc.strerror})", source=source) from None


def positions(reader: Any, df: DataFile, columns: list[str] | tuple[str, ...], source: str) -> list[int]:
    """Where ``columns`` sit in a record; a copybook's INV-NO is also INV_NO (and
    the other way round), as COBOL names are spelt either way in configs."""
    names = {plain(n): i for i, n in enumerate(list(reader.columns) + list(PSEUDO))}
    missing = [c for c in columns if plain(c) not in names]
    if missing:
        raise SourceError(
            f"column(s) {', '.join(missing)} not in {df.name}; columns: {', '.join(reader.columns)}", source=source
        )
    return [names[plain(c)] for c in columns]


def projection(reader: Any, df: DataFile, columns: list[str], source: str) -> Callable[[tuple], tuple]:
    """Rows in ``columns`` order from a record (the format's columns + the pseudo-columns)."""
    found = positions(reader, df, columns, source)
    if len(found) == 1:
        only = found[0]
        return lambda row: (row[only],)
    return itemgetter(*found)


def key_reader(fmt: Any, handle: Any, df: DataFile, reader: Any, key: tuple[str, ...], source: str) -> Any:
    """A reader decoding only ``key``'s fields, when the format can (copybooks)."""
    keys_only = getattr(fmt, "keys_only", None)
    if keys_only is None:
        return None
    names = list(reader.columns) + list(PSEUDO)
    narrowed = keys_only([names[p] for p in positions(reader, df, key, source)])
    return None if narrowed is None else narrowed.open(handle)
