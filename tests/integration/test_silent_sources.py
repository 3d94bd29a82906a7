"""Legacy systems that go silent under load: the app under gunicorn with the repository's
gunicorn.conf.py (2 workers x 4 threads), each source behind a TCP proxy of the test's
that can become a black hole (connections accepted, nothing forwarded either way).

While a source is silent, every request to it ends within its timeout + 1 s with a 503
or 504 problem, its breaker opens, and the SQLite resource answers as fast as ever; when
the link heals, the source serves again within its cool-down and no connection that
was stuck is used again.  A flapping link leaves no 500, no wrong record and no call
still holding a place; an export that stalls mid-stream ends with its error line.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from contextlib import ExitStack

import pyodbc
import pytest
import yaml
from werkzeug.serving import make_server

from helpers.backends import MARIADB, PG, ROOT, crm_config, unavailable
from helpers.servers import HOST, TcpProxy, child_pids, free_port, get, serve_process
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.demo.tms_simulator import TmsSimulator

TIMEOUT, COOLDOWN = 1.0, 2.0
TABLE = "LB_SILENT_CUST"
PG_ROWS, MARIADB_ROWS = 200_000, 500
SOURCES = ("pg", "maria", "tms")
PATHS = {
    "pg": ("/v1/pg-customers/{n}", "/v1/pg-customers?limit=3&id[gt]={n}"),
    "maria": ("/v1/maria-customers/{n}", "/v1/maria-customers?limit=3&id[gt]={n}"),
    "tms": ("/v1/shipments/TMS{n:06d}", "/v1/shipments?limit=3"),
    "crm": ("/v1/customers/{n}", "/v1/customers?limit=3&id[gt]={n}"),
}


def _connect(connection: str):
    try:
        return pyodbc.connect(connection, autocommit=True)
    except pyodbc.Error as exc:
        unavailable(f"not reachable: {exc}")


@pytest.fixture(scope="module")
def tables():
    """LB_SILENT_CUST in the run's PostgreSQL (200,000 rows: room for an export to stall
    in) and MariaDB databases."""
    with _connect(PG) as pg, _connect(MARIADB) as maria:
        pg.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
        pg.execute(f'CREATE TABLE "{TABLE}" ("CUST_NO" INTEGER PRIMARY KEY, "CUST_NM" VARCHAR(20))')
        pg.execute(f"""INSERT INTO "{TABLE}" SELECT g, 'CUSTOMER ' || g FROM generate_series(1, {PG_ROWS}) g""")
        maria.execute(f"DROP TABLE IF EXISTS `{TABLE}`")
        maria.execute(f"CREATE TABLE `{TABLE}` (`CUST_NO` INTEGER PRIMARY KEY, `CUST_NM` VARCHAR(20))")
        maria.execute(f"INSERT INTO `{TABLE}` SELECT seq, CONCAT('CUSTOMER ', seq) FROM seq_1_to_{MARIADB_ROWS}")
    yield
    with _connect(PG) as pg, _connect(MARIADB) as maria:
        pg.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
        maria.execute(f"DROP TABLE IF EXISTS `{TABLE}`")


def _table_resource(source: str) -> dict:
    return {
        "source": source,
        "table": TABLE,
        "key": ["id"],
        "fields": {"id": {"column": "CUST_NO", "converter": "int"}, "name": {"column": "CUST_NM"}},
    }


@pytest.fixture(scope="module")
def served(tables, sqlite_backend, tmp_path_factory):
    """gunicorn serving crm (SQLite), pg, maria and tms (SOAP), each of the last three
    through a proxy (``served.proxies``)."""
    tmp = tmp_path_factory.mktemp("silent")
    with ExitStack() as stack:
        soap = make_server(HOST, 0, TmsSimulator().wsgi(), threaded=True)
        threading.Thread(target=soap.serve_forever, daemon=True).start()
        stack.callback(soap.server_close)
        stack.callback(soap.shutdown)
        proxies = {
            "pg": TcpProxy((HOST, 5432)),
            "maria": TcpProxy((HOST, 3306)),
            "tms": TcpProxy((HOST, soap.server_port)),
        }
        for proxy in proxies.values():
            stack.callback(proxy.close)
        policy = {
            "timeout": f"{TIMEOUT}s",
            "connect_timeout": f"{TIMEOUT}s",
            "retries": {"attempts": 2, "backoff": "50ms"},
            "breaker": {"failures": 3, "cooldown": f"{COOLDOWN}s"},
        }
        config = crm_config(sqlite_backend.connection)
        config["sources"]["pg"] = {
            "kind": "odbc",
            "connection": PG.replace("Port=5432", f"Port={proxies['pg'].port}"),
            "stream_options": "UseDeclareFetch=1;Fetch=100",
            **policy,
        }
        config["sources"]["maria"] = {
            "kind": "odbc",
            **policy,
            "connection": MARIADB.replace("Port=3306", f"Port={proxies['maria'].port}"),
        }
        soap_config = tms_config(f"http://{HOST}:{proxies['tms'].port}", **policy)
        config["sources"].update(soap_config["sources"])
        config["resources"].update(soap_config["resources"])
        config["resources"]["pg-customers"] = _table_resource("pg")
        config["resources"]["maria-customers"] = _table_resource("maria")
        path = tmp / "legacy-bridge.yaml"
        path.write_text(yaml.safe_dump(config))
        port = free_port()
        env = {
            "LEGACY_BRIDGE_CONFIG": str(path),
            "GUNICORN_BIND": f"{HOST}:{port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "GUNICORN_GRACEFUL_TIMEOUT": "5",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "m"),
        }
        (tmp / "m").mkdir()
        argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
        server = stack.enter_context(serve_process(argv, port, tmp / "gunicorn.log", cwd=ROOT, env=env))
        deadline = time.monotonic() + 10
        while len(child_pids(server.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        server.proxies = proxies
        for source in SOURCES:  # connections made, WSDL loaded, in both workers
            for n in range(1, 9):
                warmed = time.monotonic() + 30  # a WSDL load may time out once on a busy machine
                status, _, body = get(server.url + PATHS[source][0].format(n=n))
                while status == 503 and time.monotonic() < warmed:
                    time.sleep(0.5)
                    status, _, body = get(server.url + PATHS[source][0].format(n=n))
                assert status == 200, body
        yield server


class Hammer:
    """Client threads that keep asking one source's record and page routes and keep
    every answer: (started, seconds, status, content type, body)."""

    def __init__(self, url: str, source: str, threads: int) -> None:
        self.url, self.source = url, source
        self.answers: list[tuple[float, float, int, str, bytes]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def _run(self, i: int) -> None:
        n = 1 + i
        while not self._stop.is_set():
            path = PATHS[self.source][n % 2].format(n=1 + n % 8)
            started = time.monotonic()
            try:
                status, headers, body = get(self.url + path, timeout=30)
            except OSError as exc:  # a reset or refused connection: recorded, and a failure
                status, headers, body = 0, {}, str(exc).encode()
            self.answers.append((started, time.monotonic() - started, status, headers.get("Content-Type", ""), body))
            n += 1
            time.sleep(0.01)

    def __enter__(self) -> Hammer:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def during(self, start: float, end: float) -> list[tuple]:
        return [a for a in self.answers if start <= a[0] < end]


def _assert_right_records(source: str, answers: list[tuple]) -> None:
    """Every 200 is the record or page asked for: never another request's answer."""
    for _, _, status, _, body in answers:
        if status != 200:
            continue
        data = json.loads(body)
        if "data" in data:
            ids = [r.get("id", r.get("shipment_no")) for r in data["data"]]
            assert ids == sorted(ids) and len(ids) == 3, data
        else:
            assert data.get("id", data.get("shipment_no")) is not None, data


def _assert_fails_fast_and_recovers(source: str, hammer: Hammer, silent_from: float, healed_at: float) -> None:
    answers = hammer.answers
    slow = [a for a in answers if a[1] > TIMEOUT + 1]
    assert not slow, f"{source}: {len(slow)} requests took longer than timeout + 1 s: {slow[:3]}"
    failed = [a for a in answers if a[2] != 200]
    assert failed, f"{source}: no request failed while it was silent"
    assert {a[2] for a in failed} <= {503, 504}, {a[2] for a in failed}
    assert {a[3] for a in failed} == {"application/problem+json"}
    assert all(silent_from <= a[0] + a[1] for a in failed), f"{source}: a request failed before the silence"
    assert any(json.loads(a[4]).get("breaker") == "open" for a in failed), f"{source}: the breaker never opened"
    after = hammer.during(healed_at + COOLDOWN + 1.0, float("inf"))
    late = [(round(a[0] - healed_at, 2), a[2], a[4][:120]) for a in after if a[2] != 200]
    assert after and not late, f"{source}: not serving again within the cool-down: {late[:5]}"
    _assert_right_records(source, answers)


def _silence(proxy: TcpProxy, seconds: float) -> tuple[float, float, int]:
    """Black-hole ``proxy`` for ``seconds``; (silent from, healed at, connections still held
    after a stuck call's deadline had long passed)."""
    silent_from = time.monotonic()
    proxy.silence()
    time.sleep(seconds)
    stuck = proxy.stuck_open(for_longer_than=TIMEOUT + 1)
    healed_at = time.monotonic()
    proxy.resume()
    return silent_from, healed_at, stuck


def test_each_silent_source_fails_fast_opens_its_breaker_and_the_others_keep_answering(served):
    windows = {}
    with ExitStack() as stack:
        hammers = {s: stack.enter_context(Hammer(served.url, s, 3)) for s in SOURCES}  # <= max_calls
        sqlite = stack.enter_context(Hammer(served.url, "crm", 1))
        time.sleep(1.0)
        for source in SOURCES:  # one silent source at a time
            windows[source] = _silence(served.proxies[source], 4.0)
        time.sleep(COOLDOWN + 2.0)
    for source, (silent_from, healed_at, stuck) in windows.items():
        assert stuck == 0, f"{source}: {stuck} connections stuck in the silence were kept open"
        _assert_fails_fast_and_recovers(source, hammers[source], silent_from, healed_at)
    # the healthy SQLite resource: every answer a 200, at its usual pace
    assert len(sqlite.answers) > 100
    assert {a[2] for a in sqlite.answers} == {200}
    assert max(a[1] for a in sqlite.answers) < 1.5, sorted(a[1] for a in sqlite.answers)[-5:]


def test_a_flapping_link_gives_no_500_no_wrong_record_and_leaves_no_call_behind(served):
    pg, maria = served.proxies["pg"], served.proxies["maria"]
    stuck = []
    with Hammer(served.url, "pg", 3) as pg_hammer, Hammer(served.url, "maria", 3) as maria_hammer:
        maria.silence()  # one of the two silent at any moment
        for _ in range(5):
            maria.resume()
            pg.silence()
            time.sleep(3)
            stuck.append(pg.stuck_open(for_longer_than=TIMEOUT + 1))
            pg.resume()
            maria.silence()
            time.sleep(3)
            stuck.append(maria.stuck_open(for_longer_than=TIMEOUT + 1))
        maria.resume()
        time.sleep(COOLDOWN + 1.5)
        settled = time.monotonic()
        time.sleep(1.0)
    for source, hammer in (("pg", pg_hammer), ("maria", maria_hammer)):
        statuses = defaultdict(int)
        for a in hammer.answers:
            statuses[a[2]] += 1
        assert set(statuses) <= {200, 503, 504}, dict(statuses)
        assert max(a[1] for a in hammer.answers) < TIMEOUT + 1
        _assert_right_records(source, hammer.answers)
        assert all(a[2] == 200 for a in hammer.during(settled, float("inf")))
    assert stuck == [0] * 10, "a connection stuck in a silence was kept open"
    # no call still holds a place: as many requests at once as the workers' bulkheads allow pass
    results = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(get(served.url + f"/v1/pg-customers/{n}")[0]))
        for n in range(1, 5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results.count(200) >= 3, results


def test_an_export_that_stalls_mid_stream_ends_with_its_error_line_within_the_deadline(served):
    proxy = served.proxies["pg"]
    request = urllib.request.Request(served.url + "/v1/pg-customers/export?format=ndjson")
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read(64 * 1024)
        proxy.silence()
        try:
            stalled = time.monotonic()
            body += response.read()
            took = time.monotonic() - stalled
        finally:
            proxy.resume()
    *records, last = body.split(b"\n")
    assert 1000 <= len(records) < PG_ROWS
    assert json.loads(last)["error"]["type"].endswith("source-timeout")
    assert took < TIMEOUT + 1, f"the stalled export ended {took:.2f}s after the silence began"
