"""X12 for the tests: gozer's interchanges (read from ../shared/testdata/edi), a sound synthetic
one built with the codec's own envelope builder (tests break it on purpose), and the reader's
events and errors as lists."""

from __future__ import annotations

import datetime as dt
import io

from helpers.backends import SHARED_TESTDATA
from legacy_bridge.drivers.flatfile.x12.model import Delimiters, X12Error
from legacy_bridge.drivers.flatfile.x12.reader import X12Reader
from legacy_bridge.drivers.flatfile.x12.writer import envelope_group, envelope_interchange, envelope_set, write_segments

WHEN = dt.datetime(2026, 11, 29, 21, 5)
TILDE = Delimiters(element="*", sub_element=":", repetition="^", segment="~", line_break="\n")
EDI = SHARED_TESTDATA / "edi"


def gozer(name: str) -> bytes:
    """The bytes of ``gozer-<name>.txt``."""
    return (EDI / f"gozer-{name}.txt").read_bytes()


def interchange(
    groups=((("204", "0001"), ("204", "0002")), (("990", "0003"),)),
    delimiters=TILDE,
    version="00401",
    group_version="004010",
    control=1,
) -> bytes:
    """A sound interchange: one group per item of ``groups``, each set with a B2 and an L11."""
    built = []
    for g, sets in enumerate(groups, 1):
        bodies = [
            envelope_set(code, control_no, [("B2", "", "SCAC", "", f"SHIP{control_no}"), ("L11", "REF:1", "BM")])
            for code, control_no in sets
        ]
        built.append(
            envelope_group(
                "SM", bodies, sender="SENDER", receiver="RECEIVER", control=g, version=group_version, when=WHEN
            )
        )
    segments = envelope_interchange(
        built, sender="ACME", receiver="CARRIER", control=control, when=WHEN, version=version, delimiters=delimiters
    )
    return write_segments(segments, delimiters)


def events(data: bytes, **options) -> list[tuple[int, object]]:
    return list(X12Reader(io.BytesIO(data), **options).events())


def errors(data: bytes, **options) -> list[X12Error]:
    return [e for _, e in events(data, **options) if isinstance(e, X12Error)]
