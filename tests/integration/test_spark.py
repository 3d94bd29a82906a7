"""The Spark data sources in a local[2] session (one JVM for the module): format("legacy-bridge")
reads a resource through its partitions, one task each, with the contract's types; and
format("legacy-bridge-copybook") decodes EBCDIC files on the executors.  Counts, sums of decimals
and a sample of rows equal the REST export and the single-process decoder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from decimal import Decimal
from urllib.parse import unquote

import pytest

from helpers import dtar020
from helpers.backends import crm_config, make_app, unavailable
from helpers.servers import serve_app
from helpers.vb_files import VB_COPYBOOK, vb_file

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")

from pyspark.sql import SparkSession  # noqa: E402 - after the skips
from pyspark.sql import functions as F  # noqa: E402

from legacy_bridge.drivers.flatfile.cobol import CopybookFormat  # noqa: E402
from legacy_bridge.drivers.flatfile.copybook import parse_copybook  # noqa: E402
from legacy_bridge.spark import register  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        unavailable("no Java runtime for Spark (scripts/bootstrap.sh test installs openjdk-17-jre-headless)")
    before = {name: os.environ.get(name) for name in ("PYSPARK_PYTHON", "SPARK_LOCAL_IP")}
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers need this venv (pyarrow, legacy_bridge)
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # loopback only
    session = (
        SparkSession.builder.master("local[2]")
        .appName("legacy-bridge-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    register(session)
    yield session
    session.stop()
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def bridge(sqlite_backend):
    config = crm_config(sqlite_backend.connection)
    config["resources"]["customers"]["fields"]["place"] = {
        "type": "object",
        "fields": {
            "state": {"column": "ST_CD", "converter": "trim"},
            "opened_on": {"column": "OPEN_DT", "converter": "yyyymmdd"},
        },
    }
    digest = hashlib.sha256(b"spark-test-key").hexdigest()
    config["auth"] = {"keys": [{"id": "spark", "hash": f"sha256:{digest}", "scopes": ["*:read"]}]}
    app = make_app(config)
    asked: list[str] = []  # the query strings the service was asked, to see what Spark sent
    wsgi = app.wsgi_app

    def recording(environ, start_response):
        asked.append(f"{environ['PATH_INFO']}?{unquote(environ.get('QUERY_STRING', ''))}")
        return wsgi(environ, start_response)

    app.wsgi_app = recording
    with serve_app(app) as server:
        yield server.url, asked
    app.extensions["legacy_bridge"].close()


def _export(url: str, query: str = "") -> list[dict]:
    import requests

    response = requests.get(f"{url}/v1/customers/export?format=ndjson{query}", headers={"X-API-Key": "spark-test-key"})
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def _customers(spark, url: str, partitions: int, **options):
    reader = spark.read.format("legacy-bridge").option("url", url).option("resource", "customers")
    reader = reader.option("partitions", partitions).option("api_key", "spark-test-key")
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load()


def test_a_resource_reads_as_one_task_per_partition_with_the_contracts_types(spark, bridge):
    bridge, _ = bridge
    df = _customers(spark, bridge, 4)
    exported = _export(bridge)
    assert df.rdd.getNumPartitions() == 4
    assert dict(df.dtypes)["credit_limit"] == "decimal(38,2)" and dict(df.dtypes)["opened_on"] == "date"
    assert dict(df.dtypes)["updated_at"] == "timestamp_ntz"
    assert dict(df.dtypes)["place"] == "struct<state:string,opened_on:date>"
    assert df.count() == len(exported)
    total = df.agg(F.sum("credit_limit")).first()[0]
    assert total == sum(Decimal(r["credit_limit"]) for r in exported)
    sample = {r["id"]: r for r in df.where(F.col("id").isin(1, 17, 250)).collect()}
    for record in (r for r in exported if r["id"] in (1, 17, 250)):
        row = sample[record["id"]].asDict(recursive=True)
        assert row["name"] == record["name"] and str(row["credit_limit"]) == record["credit_limit"]
        assert row["updated_at"].isoformat() == record["updated_at"]
        assert (row["opened_on"].isoformat() if row["opened_on"] else None) == record["opened_on"]
        assert row["place"]["state"] == record["place"]["state"]


def test_filters_spark_pushes_and_given_ones_reach_the_api_and_the_result_is_sparks(spark, bridge):
    bridge, asked = bridge
    asked.clear()
    df = _customers(spark, bridge, 3, filters="active=true")
    filtered = df.where((F.col("state") == "MA") & (F.col("credit_limit") >= Decimal("1000")))
    expected = _export(bridge, "&active=true&state=MA&credit_limit[gte]=1000")
    assert sorted(r["id"] for r in filtered.select("id").collect()) == [r["id"] for r in expected]
    assert 0 < len(expected) < 250
    planned = [q for q in asked if q.startswith("/v1/customers/partitions?")]
    assert planned and all(p in planned[-1] for p in ("active=true", "state=MA", "credit_limit[gte]=1000"))
    reads = [q for q in asked if q.startswith("/v1/customers/export?") and "partition=" in q]
    assert len(reads) == 3 and all("state=MA" in q and "partition=" in q for q in reads)


def test_an_ebcdic_fixed_file_decodes_on_the_executors_as_the_decoder_reads_it(spark, tmp_path):
    df = (
        spark.read.format("legacy-bridge-copybook")
        .option("path", str(dtar020.DATA))
        .option("copybook", str(dtar020.COPYBOOK))
        .option("index_dir", str(tmp_path))
        .option("partitions", 3)
        .load()
    )
    fmt = CopybookFormat(parse_copybook(dtar020.COPYBOOK.read_text()))
    with open(dtar020.DATA, "rb") as f:
        decoded = [row for _, row in fmt.open(f).scan()]
    assert df.rdd.getNumPartitions() == 3
    assert df.count() == len(decoded)
    price = fmt.columns.index("DTAR020_SALE_PRICE")
    assert df.agg(F.sum("DTAR020_SALE_PRICE")).first()[0] == sum(r[price] for r in decoded)
    rows = df.collect()
    flat = len(df.columns)  # the source reads the layout's fields; the decoder adds its groups as objects after
    assert [tuple(r) for r in rows[:5]] == [r[:flat] for r in decoded[:5]] and tuple(rows[200]) == decoded[200][:flat]


def test_a_vb_file_splits_by_blocks_and_reads_every_record_once(spark, tmp_path):
    (tmp_path / "REC.cpy").write_text(VB_COPYBOOK)
    (tmp_path / "rec.vb").write_bytes(vb_file(5000, per_block=9))
    df = (
        spark.read.format("legacy-bridge-copybook")
        .option("path", str(tmp_path / "rec.vb"))
        .option("copybook", str(tmp_path / "REC.cpy"))
        .option("record_format", "VB")
        .option("partitions", 4)
        .load()
    )
    assert df.rdd.getNumPartitions() == 4
    assert sorted(r[0] for r in df.select("REC_NO").collect()) == list(range(1, 5001))
    assert df.where(F.col("REC_NO") == 4321).first()["REC_NM"] == "NAME 4321"
