"""88-level condition names served: boolean columns in mappings and filters, and the
``code`` enum that ``introspect --copybook`` drafts for a field whose 88 levels name
one value each."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from helpers.backends import make_app
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook

COPYBOOK = """\
      * an account extract with condition names
       01  ACCT.
           05  ACCT-NO        PIC 9(6).
           05  ACCT-STATUS    PIC X.
               88  ACCT-STATUS-ACTIVE   VALUE 'A'.
               88  ACCT-STATUS-CLOSED   VALUE 'C'.
               88  ACCT-STATUS-FROZEN   VALUE 'F'.
           05  RISK           PIC S9(3) COMP-3.
               88  RISK-LOW     VALUE 0 THRU 30.
               88  RISK-HIGH    VALUES 80 THRU 100.
           05  VIP-FLAG       PIC X.
               88  VIP          VALUES 'Y' 'V'.
"""
STATUSES = "ACFA"


def rows(n: int = 40) -> list[tuple]:
    return [
        (i, STATUSES[i % 4], (i * 7) % 101, "Y" if i % 5 == 0 else ("V" if i % 7 == 0 else "N"))
        for i in range(1, n + 1)
    ]


def write(tmp_path):
    cpy = tmp_path / "ACCT.cpy"
    cpy.write_text(COPYBOOK)
    encode = make_encoder(parse_copybook(COPYBOOK), "cp037")
    data = tmp_path / "ACCT.bin"
    data.write_bytes(b"".join(encode(r) for r in rows()))
    return cpy, data


FIELDS = {
    "no": {"column": "ACCT-NO", "converter": "int"},
    "active": {"column": "ACCT-STATUS-ACTIVE", "converter": {"flag": {True: True, False: False}}, "filter": True},
    "risky": {"column": "RISK_HIGH", "converter": {"flag": {True: True, False: False}}, "filter": True},
    "vip": {"column": "VIP", "converter": {"flag": {True: True, False: False}}, "filter": True},
}


def config(cpy, data) -> dict:
    return {
        "service": {"secret": "s", "max_limit": 500},
        "sources": {"accts": {"kind": "flatfile", "path": str(data), "copybook": str(cpy)}},
        "resources": {"accounts": {"source": "accts", "key": ["no"], "fields": FIELDS}},
    }


def test_condition_names_are_boolean_columns_in_mappings_and_filters(tmp_path):
    cpy, data = write(tmp_path)
    app = make_app(config(cpy, data))
    try:
        client = app.test_client()
        body = client.get("/v1/accounts?limit=500").get_json()["data"]
        expected = [{"no": i, "active": s == "A", "risky": 80 <= r <= 100, "vip": v in "YV"} for i, s, r, v in rows()]
        assert body == expected
        active = client.get("/v1/accounts?active=true&limit=500").get_json()["data"]
        assert [r["no"] for r in active] == [i for i, s, _, _ in rows() if s == "A"] and active
        risky_vip = client.get("/v1/accounts?risky=true&vip=true&limit=500").get_json()["data"]
        assert [r["no"] for r in risky_vip] == [i for i, _, r, v in rows() if 80 <= r <= 100 and v in "YV"]
        assert client.get("/v1/accounts/5").get_json() == expected[4]
    finally:
        app.extensions["legacy_bridge"].close()


def test_introspect_drafts_an_enum_for_single_value_conditions_and_booleans_for_ranges(tmp_path):
    cpy, data = write(tmp_path)
    result = CliRunner().invoke(main, ["introspect", "--copybook", str(cpy), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "ACCT_STATUS_ACTIVE" in result.output and "'A'" in result.output  # the layout table
    assert "RISK_LOW" in result.output and "0 THRU 30" in result.output
    draft = yaml.safe_load(result.output)
    fields = draft["resources"]["account"]["fields"]
    assert fields["account_status"]["converter"] == {"code": {"codes": {"A": "active", "C": "closed", "F": "frozen"}}}
    assert "account_status_active" not in fields  # the enum covers them
    assert fields["risk_high"]["column"] == "RISK_HIGH"  # ranges stay booleans
    assert fields["vip"]["column"] == "VIP"  # two values for one name: a boolean
    draft["service"] = {"secret": "s", "max_limit": 500}
    validate(draft)
    app = make_app(draft)
    try:
        client = app.test_client()
        closed = client.get("/v1/account?account_status=closed&limit=500").get_json()["data"]
        assert [r["account_no"] for r in closed] == [i for i, s, _, _ in rows() if s == "C"] and closed
        assert {r["account_status"] for r in client.get("/v1/account?limit=500").get_json()["data"]} == {
            "active",
            "closed",
            "frozen",
        }
        low = client.get("/v1/account?risk_low=true&limit=500").get_json()["data"]
        assert [r["account_no"] for r in low] == [i for i, _, r, _ in rows() if r <= 30]
    finally:
        app.extensions["legacy_bridge"].close()
