"""Filters a driver cannot push down: applied in Python with the source's semantics,
and pages over such a driver still walk every matching row exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from legacy_bridge.config import validate
from legacy_bridge.drivers import Driver, register_driver
from legacy_bridge.errors import InvalidInput
from legacy_bridge.query.filtering import predicate
from legacy_bridge.query.legacy import Condition, Query
from legacy_bridge.query.model import Filter, ListQuery
from legacy_bridge.resources import Bridge

COLUMNS = ["NO", "NM", "DT"]


@pytest.mark.parametrize(
    "condition, expected",
    [
        (Condition("DT", "gte", 20200101, (0,)), [1, 3]),
        (Condition("DT", "lt", 20200101, (0,)), [4]),  # the 0 sentinel is not "before"
        (Condition("DT", "isnull", True, (0,)), [2, 5]),
        (Condition("DT", "isnull", False, (0,)), [1, 3, 4]),
        (Condition("NM", "startswith", "AB"), [1, 2]),
        (Condition("NM", "contains", "C "), [1]),
        (Condition("NM", "in", ("XY  ", "ABD ")), [2, 3]),
        (Condition("NM", "ne", "ABC "), [2, 3, 4]),  # NULL never matches, as in SQL
        (Condition("DT", "gt", "20200101", (0,)), []),  # another type never matches
    ],
)
def test_predicate_matches_like_the_source_would(condition, expected):
    rows = [(1, "ABC ", 20210101), (2, "ABD ", 0), (3, "XY  ", 20200101), (4, "Z   ", 19991231), (5, None, None)]
    keep = predicate([condition], COLUMNS)
    assert [r[0] for r in rows if keep(r)] == expected


class ListDriver(Driver):
    """Rows of a Python list, in list order: no pushdown, no sorting, a natural order."""

    kind = "test-list"
    supports_sort = False
    natural_order = ("__recno__",)
    rows = [(n, f"NAME {n:03d}", 20200101 + n % 20 if n % 7 else 0) for n in range(1, 101)]

    def filter_columns(self, target: dict[str, Any]) -> frozenset[str]:
        return frozenset({"NO"})  # partial pushdown, like a SOAP operation

    def fetch(self, target: dict[str, Any], query: Query) -> Iterator[tuple]:
        assert all(c.column == "NO" for c in query.where)
        assert query.limit is None, "a page with filters left to apply must not be cut short"
        start = query.after[0] + 1 if query.after else 0
        for recno in range(start, len(self.rows)):
            record = dict(zip(COLUMNS, self.rows[recno]), __recno__=recno)
            if all(predicate([c], ["NO"])((record["NO"],)) for c in query.where):
                yield tuple(record[c] for c in query.columns)


@pytest.fixture
def resource():
    register_driver("test-list", ListDriver)
    config = validate(
        {
            "service": {"secret": "s"},
            "sources": {"mem": {"kind": "test-list"}},
            "resources": {
                "names": {
                    "source": "mem",
                    "table": "T",
                    "key": ["no"],
                    "fields": {
                        "no": {"column": "NO", "converter": "int"},
                        "name": {"column": "NM", "converter": "trim", "filter": True},
                        "day": {"column": "DT", "converter": "yyyymmdd", "filter": True},
                    },
                }
            },
        }
    )
    return Bridge(config, "secret").resources["names"]


def _walk(resource, where, limit=7):
    seen, cursor = [], None
    while True:
        page = resource.page(ListQuery(fields=["no"], filters=where, limit=limit, cursor=cursor))
        seen += [r["no"] for r in page.records]
        if not page.next:
            return seen
        cursor = page.next


def test_residual_filters_walk_every_matching_row_once(resource):
    where = [Filter("day", "isnull", False, "day[isnull]", "false"), Filter("no", "gt", 10, "no[gt]", "10")]
    expected = [n for n, _, dt in ListDriver.rows if dt and n > 10]
    assert _walk(resource, where) == expected


def test_a_source_that_cannot_sort_refuses_sort(resource):
    with pytest.raises(InvalidInput) as info:
        resource.page(ListQuery(fields=["no"], sort=[("name", False)]))
    assert info.value.extra["parameter"] == "sort"
