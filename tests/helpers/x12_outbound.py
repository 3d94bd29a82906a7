"""Outbound X12 for the tests: a 990, an 856 and a 214 mapping, resources over them that take
drops into a folder (and read that folder back), and the envelope ids of the carrier FSTC
answering the shipper ACMESHIPPER (as the hand-written samples in tests/data/x12)."""

from __future__ import annotations

from typing import Any

RESPONSE990 = {
    "set": "990",
    "fields": {
        "scac": "B1.1",
        "shipment_id": {"element": "B1.2", "required": True},
        "date": {"element": "B1.3", "type": "date"},
        "action": "B1.4",
        "pro_number": {"element": "N9.2", "when": {"N9.1": "CN"}},
        "bill_of_lading": {"element": "N9.2", "when": {"N9.1": "BM"}},
    },
}
RESPONSES = {
    "source": "responses",
    "key": ["shipment_id"],
    "fields": {
        "shipment_id": "shipment_id",
        "scac": "scac",
        "responded_on": {"column": "date", "converter": "date"},
        "action": {"column": "action", "converter": {"code": {"codes": {"A": "accepted", "D": "declined"}}}},
        "pro_number": "pro_number",
        "bill_of_lading": "bill_of_lading",
    },
}

NOTICE856 = {
    "set": "856",
    "fields": {
        "shipment_id": {"element": "BSN.2", "required": True},
        "shipped_on": {"element": "BSN.3", "type": "date"},
        "shipment": {
            "hl": "S",
            "single": True,
            "fields": {
                "weight": {"element": "TD1.7", "type": "decimal"},
                "ship_to": {"loop": "N1", "when": {"N1.1": "ST"}, "single": True, "fields": {"name": "N1.2"}},
                "orders": {
                    "hl": "O",
                    "fields": {
                        "po_number": "PRF.1",
                        "items": {
                            "hl": "I",
                            "fields": {"sku": "LIN.3", "qty": {"element": "SN1.2", "type": "int"}, "unit": "SN1.3"},
                        },
                    },
                },
            },
        },
        "item_count": {"element": "CTT.1", "type": "int"},
    },
}
NOTICES = {
    "source": "notices",
    "key": ["shipment_id"],
    "fields": {
        "shipment_id": "shipment_id",
        "shipped_on": {"column": "shipped_on", "converter": "date"},
        "shipment": {
            "type": "object",
            "column": "shipment",
            "fields": {
                "weight": {"column": "weight", "converter": "decimal"},
                "ship_to": {"type": "object", "column": "ship_to", "fields": {"name": "name"}},
                "orders": {
                    "type": "array",
                    "column": "orders",
                    "fields": {
                        "po_number": "po_number",
                        "items": {
                            "type": "array",
                            "column": "items",
                            "fields": {"sku": "sku", "qty": {"column": "qty", "converter": "int"}, "unit": "unit"},
                        },
                    },
                },
            },
        },
        "item_count": {"column": "item_count", "converter": "int"},
    },
}

STATUS214 = {
    "set": "214",
    "fields": {
        "pro_number": "B10.1",
        "shipment_id": {"element": "B10.2", "required": True},
        "scac": "B10.3",
        "status": {
            "loop": "LX",
            "single": True,
            "fields": {
                "stop": {"element": "LX.1", "type": "int"},
                "code": "AT7.1",
                "reason": "AT7.2",
                "date": {"element": "AT7.5", "type": "date"},
                "time": {"element": "AT7.6", "type": "time"},
                "city": "MS1.1",
                "state": "MS1.2",
            },
        },
    },
}
STATUSES = {
    "source": "statuses",
    "key": ["shipment_id"],
    "fields": {
        "shipment_id": "shipment_id",
        "pro_number": "pro_number",
        "scac": "scac",
        "status": {
            "type": "object",
            "column": "status",
            "fields": {
                "stop": {"column": "stop", "converter": "int"},
                "code": "code",
                "reason": "reason",
                "on": {"column": "date", "converter": "date"},
                "at": {"column": "time", "converter": "time"},
                "city": "city",
                "state": "state",
            },
        },
    },
}

ENVELOPE = {"sender": "02:FSTC", "receiver": "ZZ:ACMESHIPPER", "usage": "T"}


def outbound_config(folder, state: str, **drop: Any) -> dict:
    """Resources ``responses`` (990), ``notices`` (856) and ``statuses`` (214) dropping into
    ``folder``/<set>, each reading its folder back with the same mapping."""
    sources, resources = {}, {}
    for name, mapping, resource, order in (
        ("responses", RESPONSE990, RESPONSES, ["B1", "N9"]),
        ("notices", NOTICE856, NOTICES, None),
        ("statuses", STATUS214, STATUSES, ["B10", "LX", "AT7", "MS1"]),
    ):
        out = folder / mapping["set"]
        out.mkdir(exist_ok=True)
        sources[name] = {"kind": "flatfile", "format": "x12", "path": str(out), "pick": "all", "x12": mapping}
        rules = {"folder": str(out), **ENVELOPE, **({"segments": order} if order else {}), **drop}
        resources[name] = {**resource, "drop": rules}
    return {"service": {"secret": "s", "state": state}, "sources": sources, "resources": resources}
