"""The config that serves the legacy TMS simulator (tms_simulator.py) as REST resources: its
shipments, tracking events and rate quotes.  Plain data: no spyne needed to read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["tms_config", "add_to_config"]


def tms_config(base_url: str, soap_version: str = "1.1", **source: Any) -> dict[str, Any]:
    """``sources`` and ``resources`` that expose a simulator at ``base_url`` as REST."""
    path = "soap11" if soap_version == "1.1" else "soap12"
    party = {"converter": "trim", "filter": True}
    return {
        "sources": {
            "tms": {
                "kind": "soap",
                "wsdl": f"{base_url}/{path}?wsdl",
                "soap_version": soap_version,
                "timeout": "5s",
                "connect_timeout": "2s",
                **source,
            }
        },
        "resources": {
            "shipments": {
                "source": "tms",
                "key": ["shipment_no"],
                "description": "Shipments (legacy TMS, SOAP)",
                "get": {"operation": "GetShipment", "params": {"ShipmentNo": "{key}"}},
                "list": {
                    "operation": "ListShipments",
                    "records": "Shipments.Shipment",
                    "next": "NextPageToken",
                    "params": {"Carrier": "{filter.carrier}", "Status": "{filter.status}", "PageToken": "{page}"},
                },
                "create": {"operation": "CreateShipment", "params": {"Shipment": "{body}"}},
                "faults": {
                    "not_found": ["Client.ShipmentNotFound"],
                    "invalid": ["Client.InvalidShipment", "Client.InvalidStatus"],
                },
                "fields": {
                    "shipment_no": {"column": "ShipmentNo", "converter": "trim"},
                    "carrier": {"column": "Carrier", "converter": "trim", "filter": True},
                    "status": {
                        "column": "Status",
                        "filter": True,
                        "converter": {
                            "code": {
                                "codes": {"BK": "booked", "IT": "in_transit", "DL": "delivered", "EX": "exception"}
                            }
                        },
                    },
                    "shipped_on": {"column": "ShipDate", "converter": "yyyymmdd", "filter": True},
                    "weight_kg": {"column": "WeightKg", "converter": {"decimal": {"scale": 2}}, "filter": True},
                    "pieces": {"column": "Pieces", "converter": "int"},
                    "shipper_name": {"column": "Shipper.Name", "converter": "trim"},
                    "consignee_name": {"column": "Consignee.Name", "converter": "trim"},
                    "consignee_city": {"column": "Consignee.City", **party},
                    "consignee_country": {"column": "Consignee.Country", **party},
                },
            },
            "tracking-events": {
                "source": "tms",
                "key": ["shipment_no", "seq"],
                "description": "Tracking events of a shipment (filter shipment_no is passed to the TMS)",
                "list": {"operation": "GetTrackingEvents", "params": {"ShipmentNo": "{filter.shipment_no}"}},
                "faults": {"not_found": ["Client.ShipmentNotFound"]},
                "fields": {
                    "shipment_no": {"column": "ShipmentNo", "converter": "trim"},
                    "seq": {"column": "Seq", "converter": "int"},
                    "event": {
                        "column": "EventCode",
                        "filter": True,
                        "converter": {
                            "code": {"codes": {"BK": "booked", "PU": "picked_up", "AR": "arrived", "DL": "delivered"}}
                        },
                    },
                    "on": {"column": "EventDate", "converter": "yyyymmdd"},
                    "at": {"column": "EventTime", "converter": "hhmmss"},
                    "location": {"column": "Location", "converter": "trim", "filter": True},
                },
            },
            "rate-quotes": {
                "source": "tms",
                "key": ["carrier"],
                "description": "Rate quotes: origin, destination and weight_kg are required filters",
                "list": {
                    "operation": "QuoteRates",
                    "params": {
                        "Origin": "{filter.origin}",
                        "Destination": "{filter.destination}",
                        "WeightKg": "{filter.weight_kg}",
                    },
                    "required": ["origin", "destination", "weight_kg"],
                },
                "faults": {"invalid": ["Client.MissingParameter"]},
                "fields": {
                    "carrier": {"column": "Carrier", "converter": "trim"},
                    "origin": {"column": "Origin", "converter": "trim", "filter": True},
                    "destination": {"column": "Destination", "converter": "trim", "filter": True},
                    "weight_kg": {"column": "WeightKg", "converter": {"decimal": {"scale": 2}}, "filter": True},
                    "amount": {"column": "AmountCents", "converter": {"decimal": {"implied": 2}}},
                    "currency": {"column": "Currency", "converter": "trim"},
                },
            },
        },
    }


def add_to_config(path: str | Path, base_url: str) -> None:
    """Add the simulator's source and resources to the config file at ``path`` (the demo)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    extra = tms_config(base_url)
    config.setdefault("sources", {}).update(extra["sources"])
    config.setdefault("resources", {}).update(extra["resources"])
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    path.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
