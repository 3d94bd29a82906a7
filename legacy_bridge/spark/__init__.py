"""Spark data sources (PySpark 4's Python Data Source API; ``pip install legacy-bridge[spark]``).

- ``format("legacy-bridge")``: a resource of a legacy-bridge service, one Spark task per
  partition token (:mod:`.rest`);
- ``format("legacy-bridge-copybook")``: EBCDIC files decoded on the executors with the service's
  own copybook decoder, split by record-aligned byte ranges (:mod:`.copybook`).

Only this package imports pyspark.  ``register(spark)`` registers both with a session and turns
on Python filter pushdown (``spark.sql.python.filterPushdown.enabled``), which the REST source's
reader implements.
"""

from __future__ import annotations

from typing import Any

from .copybook import CopybookDataSource
from .rest import LegacyBridgeDataSource

__all__ = ["register", "LegacyBridgeDataSource", "CopybookDataSource"]


def register(spark: Any) -> None:
    """Register both data sources with ``spark`` (a SparkSession)."""
    spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")
    spark.dataSource.register(LegacyBridgeDataSource)
    spark.dataSource.register(CopybookDataSource)
