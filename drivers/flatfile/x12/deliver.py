"""An interchange delivered into a folder whole: written under a hidden ``.part`` name, flushed
to disk, renamed (:func:`~legacy_bridge.drivers.flatfile.delivery.write_atomically`)."""

from __future__ import annotations

from collections.abc import Sequence

from legacy_bridge.drivers.flatfile.delivery import write_atomically
from legacy_bridge.drivers.flatfile.x12.model import Delimiters, Segment
from legacy_bridge.drivers.flatfile.x12.writer import write_segments

__all__ = ["deliver_interchange", "interchange_file_name"]


def interchange_file_name(segments: Sequence[Segment]) -> str:
    """``<first set code>.<ISA13>.x12`` (``997.000000031.x12``): unique per sender's control number."""
    code = next((seg[1] for seg in segments if seg[0] == "ST" and len(seg) > 1), "x12")
    return f"{code}.{segments[0][13]}.x12"


def deliver_interchange(
    folder: str, segments: Sequence[Segment], delimiters: Delimiters, name: str | None = None, encoding: str = "utf-8"
) -> str:
    """Write the interchange ``segments`` (ISA to IEA) into ``folder`` atomically; its path.

    Raises:
        FileExistsError: a file of that name is there already (it is never replaced).
        ValueError: a value the delimiters cannot carry (nothing is written then).
    """
    data = write_segments(segments, delimiters, encoding)
    return write_atomically(folder, name or interchange_file_name(segments), data)
