"""X12 samples for the tests: mappings of the gozer 850 and 856 (read from ../shared/testdata/edi)
and of hand-made 204 load tenders, and the text of those 204s and their interchanges."""

from __future__ import annotations

from typing import Any

from helpers.backends import SHARED_TESTDATA

EDI = SHARED_TESTDATA / "edi"

PO850 = {
    "set": "850",
    "fields": {
        "po_number": {"element": "BEG.3", "required": True},
        "po_date": {"element": "BEG.5", "type": "date"},
        "department": {"element": "REF.2", "when": {"REF.1": "DP"}},
        "requested": {"element": "DTM.2", "when": {"DTM.1": "002"}, "type": "date"},
        "sender": "ISA.6",
        "ship_to": {
            "loop": "N1",
            "when": {"N1.1": "ST"},
            "single": True,
            "fields": {"name": "N1.2", "id": "N1.4", "street": "N3.1", "city": "N4.1", "zip": "N4.3"},
        },
        "lines": {
            "loop": "PO1",
            "fields": {
                "line": {"element": "PO1.1", "type": "int"},
                "qty": {"element": "PO1.2", "type": "decimal"},
                "unit": "PO1.3",
                "price": {"element": "PO1.4", "type": "decimal"},
                "buyer_item": "PO1.7",
                "description": "PID.5",
                "pack": {"element": "PO4.1", "type": "int"},
            },
        },
        "totals": {
            "fields": {"lines": {"element": "CTT.1", "type": "int"}, "amount": {"element": "AMT.2", "type": "decimal"}}
        },
    },
}

ASN856 = {
    "set": "856",
    "fields": {
        "shipment_id": {"element": "BSN.2", "required": True},
        "shipment": {
            "hl": "S",
            "single": True,
            "fields": {
                "weight": {"element": "TD1.7", "type": "decimal"},
                "bill_of_lading": {"element": "REF.2", "when": {"REF.1": "BM"}},
                "shipped": {"element": "DTM.2", "when": {"DTM.1": "011"}, "type": "date"},
                "ship_from": {
                    "loop": "N1",
                    "when": {"N1.1": "SF"},
                    "single": True,
                    "fields": {"name": "N1.2", "city": "N4.1"},
                },
                "orders": {
                    "hl": "O",
                    "fields": {
                        "po_number": "PRF.1",
                        "items": {
                            "hl": "I",
                            "fields": {"sku": "LIN.3", "upc": "LIN.5", "shipped": {"element": "SN1.2", "type": "int"}},
                        },
                    },
                },
            },
        },
        "item_count": {"element": "CTT.1", "type": "int"},
    },
}

TENDER204 = {
    "set": "204",
    "fields": {
        "shipment_id": {"element": "B2.4", "required": True},
        "scac": "B2.2",
        "sender": "ISA.6",
        "pickup": {"element": "G62.2", "when": {"G62.1": "64"}, "type": "date"},
        "shipper": {"loop": "N1", "when": {"N1.1": "SH"}, "single": True, "fields": {"name": "N1.2", "city": "N4.1"}},
        "consignee": {"loop": "N1", "when": {"N1.1": "CN"}, "single": True, "fields": {"name": "N1.2", "city": "N4.1"}},
        "stops": {
            "loop": "S5",
            "fields": {
                "seq": {"element": "S5.1", "type": "int"},
                "reason": "S5.2",
                "date": {"element": "G62.2", "when": {"G62.1": ["69", "70"]}, "type": "date"},
                "time": {"element": "G62.4", "type": "time"},
                "party": {"loop": "N1", "single": True, "fields": {"code": "N1.1", "name": "N1.2"}},
            },
        },
        "weight": {"element": "L3.1", "type": "decimal"},
        "charge": {"element": "L3.5", "type": "int"},
    },
}


def tender(control: str, shipment: str, scac: str, day: int, count: int | None = None) -> list[str]:
    """A 204's segments: a shipper and a consignee, a pick-up and a delivery stop, totals (L3,
    the charge an N2 with 2 implied decimals); ``count``: a wrong SE01."""
    body = [
        f"ST*204*{control}",
        f"B2**{scac}**{shipment}**PP",
        "B2A*00",
        f"G62*64*202403{day:02d}*1*0800",
        "N1*SH*ACME SHIPPING*93*SHP1",
        "N4*AKRON*OH*44301",
        "N1*CN*BUYER INC*93*CON1",
        "N4*DAYTON*OH*45402",
        "S5*1*LD*12000*L",
        f"G62*69*202403{day:02d}*U*0800",
        "N1*SF*ACME DOCK",
        "S5*2*UL*12000*L",
        f"G62*70*202403{day + 1:02d}*X*1430",
        "N1*ST*BUYER DC",
        "L3*12000*G***125050",
    ]
    return body + [f"SE*{count or len(body) + 1}*{control}"]


def interchange(control: str, group: str, sets: list[list[str]], end: str = "~\n") -> str:
    """One interchange of one group holding ``sets`` (segments ending with ``end``)."""
    isa = f"ISA*00*          *00*          *ZZ*SHIPPERCO      *ZZ*CARRIERCO      *240301*0800*U*00401*{control}*0*P*>"
    segments = [isa, f"GS*SM*SHIPPERCO*CARRIERCO*20240301*0800*{group}*X*004010"]
    for s in sets:
        segments += s
    segments += [f"GE*{len(sets)}*{group}", f"IEA*1*{control}"]
    return end.join(segments) + end


def ok(response) -> Any:
    """The JSON of a 200 answer (the body in the assertion message otherwise)."""
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# -- resources over the samples, and a config serving them from a folder --------------------

ORDERS = {
    "source": "orders",
    "key": ["po_number"],
    "fields": {
        "po_number": "po_number",
        "ordered_on": {"column": "po_date", "converter": "date"},
        "department": "department",
        "ship_to": {"type": "object", "column": "ship_to", "fields": {"name": "name", "gln": "id", "city": "city"}},
        "lines": {
            "type": "array",
            "column": "lines",
            "fields": {
                "line": {"column": "line", "converter": "int"},
                "qty": {"column": "qty", "converter": "decimal"},
                "unit": {"column": "unit", "converter": {"code": {"codes": {"EA": "each", "CA": "case"}}}},
                "price": {"column": "price", "converter": {"decimal": {"scale": 2}}},
                "item": {"column": "buyer_item", "filter": True},
                "color": "description",
            },
        },
        "totals": {
            "type": "object",
            "column": "totals",
            "fields": {
                "lines": {"column": "lines", "converter": "int"},
                "amount": {"column": "amount", "converter": "decimal"},
            },
        },
    },
}

NOTICES = {
    "source": "notices",
    "key": ["shipment_id"],
    "fields": {
        "shipment_id": "shipment_id",
        "shipment": {
            "type": "object",
            "column": "shipment",
            "fields": {
                "weight": {"column": "weight", "converter": "decimal"},
                "shipped_on": {"column": "shipped", "converter": "date"},
                "ship_from": {"type": "object", "column": "ship_from", "fields": {"name": "name"}},
                "orders": {
                    "type": "array",
                    "column": "orders",
                    "fields": {
                        "po_number": "po_number",
                        "items": {
                            "type": "array",
                            "column": "items",
                            "fields": {"sku": "sku", "qty": {"column": "shipped", "converter": "int"}},
                        },
                    },
                },
            },
        },
    },
}

TENDERS = {
    "source": "tenders",
    "key": ["shipment_id"],
    "fields": {
        "shipment_id": "shipment_id",
        "scac": {"column": "scac", "filter": True},
        "sender": {"column": "sender", "converter": "trim"},
        "pickup_on": {"column": "pickup", "converter": "date", "filter": True},
        "shipper": {"type": "object", "column": "shipper", "fields": {"name": "name", "city": "city"}},
        "consignee": {"type": "object", "column": "consignee", "fields": {"name": "name", "city": "city"}},
        "stops": {
            "type": "array",
            "column": "stops",
            "fields": {
                "seq": {"column": "seq", "converter": "int"},
                "reason": {
                    "column": "reason",
                    "converter": {"code": {"codes": {"LD": "load", "UL": "unload"}}},
                    "filter": True,
                },
                "on": {"column": "date", "converter": "date"},
                "at": {"column": "time", "converter": "time"},
                "party": {"type": "object", "column": "party", "fields": {"name": "name"}},
            },
        },
        "weight": {"column": "weight", "converter": "decimal"},
        "charge": {"column": "charge", "converter": {"decimal": {"implied": 2}}},
    },
}


def config(folder, **overrides) -> dict:
    base = {"kind": "flatfile", "format": "x12", "path": str(folder / "inbound"), "pick": "all"}
    return {
        "service": {"secret": "s"},
        "sources": {
            # the gozer 850 says 33 segments for its 21 and the 856's IEA02 differs from its ISA13
            "orders": {**base, "x12": PO850, "envelope": "lenient", "bad_records": "quarantine"},
            "notices": {**base, "x12": ASN856, "envelope": "lenient", "bad_records": "quarantine"},
            "tenders": {**base, "x12": TENDER204, "bad_records": "quarantine"},
            "strict_orders": {**base, "x12": PO850, "bad_records": "quarantine"},
            **overrides,
        },
        "resources": {
            "orders": ORDERS,
            "notices": NOTICES,
            "tenders": TENDERS,
            "strict-orders": {**ORDERS, "source": "strict_orders"},
        },
    }
