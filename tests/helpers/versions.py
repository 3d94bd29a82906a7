"""The versioned config the version tests serve: customers as v1 (deprecated) and v2 side by
side over the same legacy table, v2 with a renamed key and fields, another converter and
fields dropped."""

from __future__ import annotations

import copy

from .backends import crm_config

V2_CUSTOMER_FIELDS = {
    "customer_id": {"column": "CUST_NO", "converter": "int"},  # id, renamed
    "name": {"column": "CUST_NM", "converter": {"trim": {"width": 40}}, "filter": True, "sort": True},
    "region": {"column": "ST_CD", "converter": "trim", "filter": True, "sort": True},  # state, renamed
    "opened": {"column": "OPEN_DT", "converter": "int", "filter": True, "sort": True},  # the YYYYMMDD integer
    "is_active": {"column": "ACTV_FLG", "converter": "flag", "filter": True},  # active, renamed
    "credit_limit": {"column": "CRDT_LMT", "converter": {"decimal": {"scale": 2}}, "filter": True, "sort": True},
}  # opened_at, status and updated_at are dropped
DEPRECATED, SUNSET = "2026-06-30", "2027-01-01"
LINK = "https://docs.example.com/crm/v2-migration"


def versioned_config(connection: str) -> dict:
    config = copy.deepcopy(crm_config(connection))
    config["resources"]["customers"]["versions"] = {
        "v2": {"key": ["customer_id"], "description": "Customers (contract v2)", "fields": V2_CUSTOMER_FIELDS}
    }
    config["versions"] = {"v1": {"deprecated": DEPRECATED, "sunset": SUNSET, "link": LINK}}
    return config
