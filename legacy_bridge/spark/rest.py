"""``spark.read.format("legacy-bridge")``: a resource of a legacy-bridge service as a DataFrame.

    spark.read.format("legacy-bridge")
        .option("url", "http://bridge.internal:8000")   # the service (its base path: /v1 by default)
        .option("resource", "customers")
        .option("partitions", 8)                         # one Spark task per partition token
        .option("api_key", "...")                        # when the service wants one
        .option("filters", "state=MA&opened_on[gte]=2020-01-01")   # the query grammar, optional
        .load()

The schema is the resource's contract, read from the service's OpenAPI document
(:mod:`.schema`).  Planning asks ``GET /<resource>/partitions?n=<partitions>`` with the filters
(those given and those Spark pushes, :mod:`.filters`); each task streams one partition through
the NDJSON export (``?partition=<token>``), so the tasks together read each record once, as of
the moment the partitions were planned.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import orjson
import requests
from pyspark.sql.datasource import DataSource, DataSourceReader, Filter, InputPartition
from pyspark.sql.types import StructType

from .arrow import batch_reader
from .filters import to_parameter
from .schema import list_operation, record_schema, row_reader

__all__ = ["LegacyBridgeDataSource"]

TIMEOUT = 60.0  # seconds to connect and between two chunks of a stream
_BLOCK = 1 << 21  # bytes of NDJSON parsed at once (a few thousand records)


class _Service:
    """The options that reach the service: its address, the resource's path, the key."""

    def __init__(self, options: Any) -> None:
        url = options.get("url")
        resource = options.get("resource")
        if not url or not resource:
            raise ValueError('format("legacy-bridge") needs the options url and resource')
        self.url = url.rstrip("/")
        self.base = "/" + (options.get("base_path") or "/v1").strip("/")
        self.resource = resource
        self.path = f"{self.base}/{resource}"
        key = options.get("api_key")
        self.headers = {"X-API-Key": key} if key else {}
        self.filters = parse_qsl(options.get("filters") or "", keep_blank_values=True, strict_parsing=False)

    def get(self, path: str, params: list[tuple[str, str]], stream: bool = False) -> requests.Response:
        response = requests.get(self.url + path, params=params, headers=self.headers, stream=stream, timeout=TIMEOUT)
        if response.status_code != 200:
            detail = response.text[:500]
            response.close()
            raise RuntimeError(f"GET {path} answered {response.status_code}: {detail}")
        return response


class LegacyBridgeDataSource(DataSource):
    """The REST data source; see the module's docstring for its options."""

    @classmethod
    def name(cls) -> str:
        return "legacy-bridge"

    def _document(self) -> dict:
        service = _Service(self.options)
        return service.get("/openapi.json", []).json()

    def schema(self) -> StructType:
        service = _Service(self.options)
        return record_schema(self._document(), service.path)[0]

    def reader(self, schema: StructType) -> DataSourceReader:
        service = _Service(self.options)
        document = self._document()
        accepted = {p["name"] for p in list_operation(document, service.path).get("parameters", ())}
        return LegacyBridgeReader(service, schema, accepted, int(self.options.get("partitions") or 1))


class _Partition(InputPartition):
    def __init__(self, index: int, token: str) -> None:
        super().__init__(token)
        self.index = index


class LegacyBridgeReader(DataSourceReader):
    def __init__(self, service: _Service, schema: StructType, accepted: set[str], parts: int) -> None:
        self.service, self.schema, self.accepted, self.parts = service, schema, accepted, parts
        self.pushed: list[tuple[str, str]] = []

    def pushFilters(self, filters: list[Filter]) -> Iterator[Filter]:  # noqa: N802 - Spark's name
        """Send what the API can apply (:mod:`.filters`); Spark checks every filter again."""
        for f in filters:
            parameter = to_parameter(f, self.accepted)
            if parameter is not None and parameter[0] not in {p for p, _ in self.service.filters + self.pushed}:
                self.pushed.append(parameter)
            yield f

    def _filters(self) -> list[tuple[str, str]]:
        return self.service.filters + self.pushed

    def partitions(self) -> list[InputPartition]:
        params = [("n", str(self.parts)), *self._filters()]
        planned = self.service.get(f"{self.service.path}/partitions", params).json()
        return [_Partition(p["index"], p["partition"]) for p in planned["data"]]

    def read(self, partition: InputPartition) -> Iterator[Any]:
        """The partition's records: Arrow record batches (:mod:`.arrow`), or tuples where the
        schema has a type Arrow's JSON reader cannot parse."""
        batches = batch_reader(self.schema)
        read = row_reader(self.schema)
        params = [("format", "ndjson"), ("partition", partition.value), *self._filters()]
        response = self.service.get(f"{self.service.path}/export", params, stream=True)
        with response:
            pending = b""
            for chunk in response.iter_content(chunk_size=_BLOCK):
                block = pending + chunk
                end = block.rfind(b"\n") + 1
                pending = block[end:]
                if not end:
                    continue
                if batches is not None:
                    yield from batches(block[:end])
                else:
                    yield from (read(orjson.loads(line)) for line in block[:end].splitlines())
        if pending:  # a complete export ends with a line end; what follows the last is an error
            body = orjson.loads(pending)
            raise RuntimeError(f"the export of {self.service.resource} broke: {body.get('error', body)}")
