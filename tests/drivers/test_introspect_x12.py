"""``introspect --x12 FILE``: the interchanges, groups and sets found, envelope errors, and the
segment tree of each set code with loops inferred (S5 stops, N1 parties, HL levels, LX)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from helpers.backends import SHARED_TESTDATA
from legacy_bridge.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "x12"
EDI = SHARED_TESTDATA / "edi"


def introspect(*args: str):
    return CliRunner().invoke(main, ["introspect", *args])


def tree_lines(output: str, code: str) -> list[str]:
    """The tree of set ``code``, each line's indent kept and its columns' padding squeezed."""
    part = output.split(f"transaction set {code}: ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [line[: len(line) - len(line.lstrip())] + " ".join(line.split()) for line in part]


def test_the_204_lists_its_envelopes_and_finds_the_stop_loops():
    result = introspect("--x12", str(SAMPLES / "tms-204-load-tender.x12"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(
        f"{SAMPLES / 'tms-204-load-tender.x12'}: 1 interchange(s), 1 group(s), 2 transaction set(s) read"
    )
    assert "interchange 000000101 (byte 0): ZZ/ACMESHIPPER -> 02/FSTC, 261128 0930, ISA12 00401, usage T" in out
    assert "delimiters: element '*', sub-element '>', repetition none, segment '~' + LF" in out
    assert "  group 101 (SM): ACMESHIPPER -> FSTC, 20261128 0930, version 004010" in out
    assert "    set 0001 (204): 27 segments\n    set 0002 (204): 16 segments" in out
    tree = tree_lines(out, "204")
    assert tree[:9] == [
        "  ST 2 (up to 1)",
        "  B2 2 (up to 1)",
        "  B2A 2 (up to 1) B2A01: 00, 01",
        "  L11 3 (up to 2)",
        "  G62 1 (up to 1) G6201: 64",
        "  MS3 1 (up to 1)",
        "  N1 2 (up to 1) N101: BT",
        "  N3 1 (up to 1)",
        "  N4 2 (up to 1)",
    ]
    assert tree[9:] == [
        "  S5 loop 4 (up to 2)",
        "    S5 4 (up to 1)",  # stop sequence numbers are not shown as codes
        "    L11 1 (up to 1)",
        "    G62 6 (up to 2) G6201: 10, 37, 38, 53, 54, 68",
        "    AT8 2 (up to 1) AT801: G",
        "    N1 4 (up to 1) N101: CN, SH",
        "    N3 2 (up to 1)",
        "    N4 4 (up to 1)",
        "  L3 2 (up to 1)",
        "  SE 2 (up to 1)",
    ]


def test_a_loop_met_once_in_a_set_is_still_the_loop_another_set_shows():
    result = introspect("--x12", str(SAMPLES / "tms-214-status.x12"))
    assert result.exit_code == 0, result.output
    assert tree_lines(result.output, "214") == [
        "  ST 2 (up to 1)",
        "  B10 2 (up to 1)",
        "  L11 2 (up to 2)",
        "  LX loop 3 (up to 2)",
        "    LX 3 (up to 1)",
        "    AT7 3 (up to 1) AT701: AF, D1, X1",
        "    MS1 3 (up to 1)",
        "    MS2 2 (up to 1)",
        "  SE 2 (up to 1)",
    ]


def test_the_856_hl_levels_nest_by_parent_and_its_iea_error_is_listed():
    result = introspect("--x12", str(EDI / "gozer-asn856.txt"))
    assert result.exit_code == 1, result.output  # an envelope error was found
    out = result.output
    assert "errors:\n  interchange 000003438, segment 35 (IEA): IEA02 is '000000049', ISA13 is '000003438'" in out
    tree = tree_lines(out, "856")
    assert tree == [
        "  ST 1 (up to 1)",
        "  BSN 1 (up to 1) BSN01: 14",
        "  HL S loop 1 (up to 1)",
        "    HL 1 (up to 1)",
        "    TD1 1 (up to 1) TD101: PCS",
        "    TD5 1 (up to 1)",
        "    REF 2 (up to 2) REF01: BM, CN",
        "    DTM 1 (up to 1) DTM01: 011",
        "    N1 loop 3 (up to 3)",
        "      N1 3 (up to 1) N101: OB, SF, SH",
        "      N3 3 (up to 1)",
        "      N4 3 (up to 1)",
        "    HL O loop 1 (up to 1)",
        "      HL 1 (up to 1)",
        "      PRF 1 (up to 1)",
        "      HL I loop 2 (up to 2)",
        "        HL 2 (up to 1)",
        "        LIN 2 (up to 1)",
        "        SN1 2 (up to 1)",
        "        PO4 2 (up to 1)",
        "        PID 2 (up to 1) PID01: F",
        "  CTT 1 (up to 1) CTT01: 4",
        "  SE 1 (up to 1)",
    ]


def test_lenient_reads_the_850_whose_se01_is_wrong_and_finds_its_po1_loop():
    strict = introspect("--x12", str(EDI / "gozer-po850.txt"))
    assert strict.exit_code == 1
    assert "SE01 says 33 segments, the set has 21" in strict.output
    assert "1 interchange(s), 1 group(s), 0 transaction set(s) read" in strict.output
    assert "    (1 set(s) not read: see the errors)" in strict.output
    lenient = introspect("--x12", str(EDI / "gozer-po850.txt"), "--envelope", "lenient")
    assert lenient.exit_code == 0, lenient.output
    tree = tree_lines(lenient.output, "850")
    assert tree[tree.index("  PO1 loop 2 (up to 2)") :][:4] == [
        "  PO1 loop 2 (up to 2)",
        "    PO1 2 (up to 1) PO101: 5, 6",  # the line numbers: 6 > 2 lines, so they might be codes
        "    PID 2 (up to 1) PID01: F",
        "    PO4 2 (up to 1) PO401: 4, 6",
    ]
    assert "errors:" not in lenient.output


def test_a_broken_file_says_why_and_fails():
    result = introspect("--x12", str(EDI / "gozer-x12.no.line.break.no.delim.txt"))
    said = [
        "0 interchange(s), 0 group(s), 0 transaction set(s) read",
        "segment 1 (ISA): the segment terminator (the byte after ISA16) is 'G'",
        "(nothing after it can be read)",
    ]
    assert (result.exit_code, [s for s in said if s not in result.output]) == (1, [])
