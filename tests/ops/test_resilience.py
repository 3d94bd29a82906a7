"""Retries for reads only, a circuit breaker, a bulkhead and a budget per source (legacy_bridge.resilience).

The driver here is a scripted source: each call takes the next outcome of its script
(an error to raise, or rows), which is the boundary a real outage would break.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from helpers.backends import crm_config, make_app
from helpers.servers import free_port
from legacy_bridge.config import validate
from legacy_bridge.drivers import deadlines
from legacy_bridge.drivers.base import Driver
from legacy_bridge.errors import ConfigError, SourceBusy, SourceError, SourceTimeout, SourceUnavailable
from legacy_bridge.ops.bulkhead import Bulkhead
from legacy_bridge.ops.policy import Policy
from legacy_bridge.ops.resilience import CircuitOpen, GuardedDriver
from legacy_bridge.problems import body_of, status_of
from legacy_bridge.query.legacy import Query

DOWN = SourceUnavailable("down", "src", "08001")
SLOW = SourceTimeout("slow", "src")
QUERY = Query(columns=["ID"], limit=10)


class Scripted(Driver):
    kind = "scripted"

    def __init__(self, *outcomes, delay: float = 0.0) -> None:
        super().__init__("src", {})
        self.outcomes = list(outcomes)
        self.calls = 0
        self.delay = delay

    def _next(self):
        self.calls += 1
        time.sleep(self.delay)
        outcome = self.outcomes.pop(0) if self.outcomes else [(1,)]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def fetch(self, target, query):
        rows = self._next()
        yield from rows

    def get(self, target, key, columns):
        rows = self._next()
        return rows[0] if rows else None

    def create(self, target, values, columns):
        return self._next()[0]

    def probe(self, timeout):
        self._next()


def guarded(*outcomes, attempts=3, failures=3, cooldown=0.3, delay=0.0, max_calls=8) -> GuardedDriver:
    return GuardedDriver(
        Scripted(*outcomes, delay=delay),
        Policy(attempts=attempts, backoff=0.01, failures=failures, cooldown=cooldown, max_calls=max_calls),
    )


def test_a_read_from_an_unreachable_source_is_tried_again_and_succeeds():
    g = guarded(DOWN, DOWN, [(7,)])
    assert list(g.fetch({}, QUERY)) == [(7,)]
    assert g.driver.calls == 3
    assert g.breaker_state() == "closed"


def test_a_read_gives_up_after_its_attempts_with_the_source_error():
    g = guarded(DOWN, DOWN, DOWN, [(7,)], attempts=3, failures=10)
    with pytest.raises(SourceUnavailable) as raised:
        g.get({}, {"ID": 1}, ["ID"])
    assert raised.value is DOWN and g.driver.calls == 3


def test_a_timeout_is_not_retried_so_the_caller_waits_one_timeout():
    g = guarded(SLOW, [(7,)])
    with pytest.raises(SourceTimeout):
        list(g.fetch({}, QUERY))
    assert g.driver.calls == 1


def test_a_create_is_never_retried():
    g = guarded(DOWN, [(7,)])
    with pytest.raises(SourceUnavailable):
        g.create({}, {"ID": 7}, ["ID"])
    assert g.driver.calls == 1


def test_a_stream_that_breaks_after_its_first_row_is_not_restarted():
    class Breaks(Scripted):
        def fetch(self, target, query):
            self.calls += 1
            yield (1,)
            raise DOWN

    g = GuardedDriver(Breaks(), Policy(attempts=3, backoff=0.01))
    rows = g.fetch({}, QUERY)
    assert next(rows) == (1,)
    with pytest.raises(SourceUnavailable):
        next(rows)
    assert g.driver.calls == 1


def test_the_breaker_opens_after_n_failed_calls_then_refuses_at_once_with_the_cooldown_left():
    g = guarded(*[DOWN] * 3, attempts=1, failures=3, cooldown=30)
    for _ in range(3):
        with pytest.raises(SourceUnavailable) as raised:
            g.get({}, {"ID": 1}, ["ID"])
        assert not isinstance(raised.value, CircuitOpen)
    assert g.breaker_state() == "open"
    started = time.monotonic()
    with pytest.raises(CircuitOpen) as raised:
        list(g.fetch({}, QUERY))
    assert time.monotonic() - started < 0.05
    assert g.driver.calls == 3  # the source was not called
    assert status_of(raised.value) == 503 and raised.value.retry_after in (29, 30)
    assert body_of(raised.value)["breaker"] == "open"


def test_after_the_cooldown_one_trial_call_closes_the_breaker_when_it_succeeds():
    g = guarded(DOWN, DOWN, [(5,)], attempts=1, failures=2, cooldown=0.2)
    for _ in range(2):
        with pytest.raises(SourceUnavailable):
            g.probe(1)
    assert g.breaker_state() == "open"
    time.sleep(0.25)
    assert g.breaker_state() == "half-open"
    assert g.get({}, {"ID": 5}, ["ID"]) == (5,)
    assert g.breaker_state() == "closed"


def test_a_failed_trial_call_opens_the_breaker_again():
    g = guarded(DOWN, DOWN, DOWN, attempts=1, failures=2, cooldown=0.2)
    for _ in range(2):
        with pytest.raises(SourceUnavailable):
            g.probe(1)
    time.sleep(0.25)
    with pytest.raises(SourceUnavailable):
        g.probe(1)
    assert g.breaker_state() == "open" and g.remaining_cooldown() > 0.1


def test_errors_that_are_not_the_source_being_down_leave_the_breaker_closed():
    rejected = SourceError("rejected", "src", "42000")
    g = guarded(rejected, rejected, rejected, attempts=1, failures=2)
    for _ in range(3):
        with pytest.raises(SourceError):
            list(g.fetch({}, QUERY))
    assert g.breaker_state() == "closed" and g.driver.calls == 3


def test_a_success_resets_the_count_of_failures():
    g = guarded(DOWN, [(1,)], DOWN, [(1,)], DOWN, attempts=1, failures=2)
    for _ in range(5):
        try:
            g.get({}, {"ID": 1}, ["ID"])
        except SourceUnavailable:
            pass
    assert g.breaker_state() == "closed"


def test_a_page_closed_before_its_last_row_counts_as_a_success():
    g = guarded([(1,), (2,), (3,)], attempts=1, failures=1)
    rows = g.fetch({}, QUERY)
    assert next(rows) == (1,)
    rows.close()
    assert g.breaker_state() == "closed"


def test_the_breaker_does_not_serialise_calls_to_one_source():
    g = guarded(*[[(1,)]] * 4, delay=0.3)
    threads = [threading.Thread(target=lambda: list(g.fetch({}, QUERY))) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started < 0.9  # 4 x 0.3 s would be 1.2 s in a row


def test_the_guard_is_no_driver_and_names_the_one_it_guards():
    g = guarded()
    assert g.kind == "scripted" and g.name == "src" and g.driver.supports_sort is True
    assert not isinstance(g, Driver) and not hasattr(g, "supports_sort")  # capabilities: ask g.driver


def test_retries_and_breaker_are_read_from_the_source_config():
    config = crm_config(
        "DSN=x", retries={"attempts": "4", "backoff": "50ms"}, breaker={"failures": 7, "cooldown": "2s"}
    )
    assert Policy.of(validate(config).sources["crm"]) == Policy(
        attempts=4, backoff=0.05, failures=7, cooldown=2.0, timeout=5.0
    )
    assert Policy.of(validate(crm_config("DSN=x")).sources["crm"]) == Policy(timeout=5.0)


def test_bad_retries_and_breaker_keys_are_reported_with_their_paths():
    config = crm_config("DSN=x", retries={"attempts": 0, "wait": 1}, breaker={"cooldown": "soon"})
    with pytest.raises(ConfigError) as raised:
        validate(config)
    paths = {path for path, _ in raised.value.problems}
    assert paths == {"sources.crm.retries.attempts", "sources.crm.retries.wait", "sources.crm.breaker.cooldown"}


def test_an_open_breaker_is_a_503_problem_with_retry_after_and_shows_in_readyz():
    # a real PostgreSQL connection string to a port where nothing listens
    dead = f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={free_port()};Database=test;Uid=postgres"
    app = make_app(crm_config(dead, retries={"attempts": 1}, breaker={"failures": 2, "cooldown": "20s"}))
    client = app.test_client()
    try:
        for _ in range(2):
            assert client.get("/v1/customers").status_code == 503
        response = client.get("/v1/customers/1")
        body = response.get_json()
        assert response.status_code == 503 and response.mimetype == "application/problem+json"
        assert body["breaker"] == "open" and body["source"] == "crm"
        assert 18 <= int(response.headers["Retry-After"]) <= 20
        ready = client.get("/readyz").get_json()
        assert ready["sources"]["crm"]["breaker"] == "open"
        assert ready["sources"]["crm"]["status"] == "failing"
    finally:
        app.extensions["legacy_bridge"].close()


# -- bulkheads, budgets, probes, refusal logs ---------------------------------------


def _hold(g: GuardedDriver, calls: int) -> tuple[list[threading.Thread], threading.Event]:
    """``calls`` gets running at once on ``g``'s source, each until the event is set."""
    release = threading.Event()
    entered = threading.Barrier(calls + 1)

    class Held(Scripted):
        def get(self, target, key, columns):
            if not release.is_set():
                entered.wait(5)
                release.wait(5)
            return (1,)

    g.driver = Held()
    threads = [threading.Thread(target=g.get, args=({}, {"ID": 1}, ["ID"])) for _ in range(calls)]
    for t in threads:
        t.start()
    entered.wait(5)
    return threads, release


def test_a_call_over_max_calls_is_refused_at_once_with_source_busy_and_the_breaker_does_not_count_it():
    g = guarded(failures=1, max_calls=2)
    threads, release = _hold(g, 2)
    try:
        started = time.monotonic()
        for _ in range(3):
            with pytest.raises(SourceBusy) as raised:
                g.get({}, {"ID": 1}, ["ID"])
        assert time.monotonic() - started < 0.5  # refused, not queued
        assert status_of(raised.value) == 503 and raised.value.retry_after == 1
        assert raised.value.slug == "source-busy"
    finally:
        release.set()
        for t in threads:
            t.join(5)
    assert g.breaker_state() == "closed"  # busy is not the source failing
    assert g.get({}, {"ID": 1}, ["ID"]) == (1,)  # the places came back
    assert g.bulkhead.in_flight == 0


def test_a_stream_holds_its_place_until_it_is_read_or_closed():
    g = guarded([(1,), (2,)], [(3,)], max_calls=1)
    rows = g.fetch({}, QUERY)
    assert next(rows) == (1,)
    with pytest.raises(SourceBusy):
        g.fetch({}, QUERY)
    rows.close()
    assert list(g.fetch({}, QUERY)) == [(3,)]
    assert g.bulkhead.in_flight == 0


def test_timeouts_open_the_breaker_as_refusals_do():
    g = guarded(SLOW, SLOW, attempts=3, failures=2, cooldown=30)
    for _ in range(2):
        with pytest.raises(SourceTimeout):
            g.get({}, {"ID": 1}, ["ID"])
    assert g.breaker_state() == "open" and g.driver.calls == 2  # neither was retried


def test_a_call_runs_within_its_budget_and_retries_stop_when_it_is_spent():
    seen = []

    class Budgeted(Scripted):
        def get(self, target, key, columns):
            seen.append(deadlines.remaining(999))
            raise DOWN

    g = GuardedDriver(Budgeted(), Policy(attempts=5, backoff=0.3, timeout=0.5))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable):
        g.get({}, {"ID": 1}, ["ID"])
    assert seen[0] <= 0.5 + deadlines.GRACE  # the driver saw the call's deadline
    assert len(seen) == 2  # the second backoff (0.6 s) would pass it
    assert time.monotonic() - started < 1.5


def test_breaker_refusals_are_counted_but_logged_once_per_interval(caplog):
    g = guarded(DOWN, attempts=1, failures=1, cooldown=30)
    with pytest.raises(SourceUnavailable):
        g.get({}, {"ID": 1}, ["ID"])
    with caplog.at_level(logging.WARNING, logger="legacy_bridge"):
        for _ in range(50):
            with pytest.raises(CircuitOpen) as raised:
                g.get({}, {"ID": 1}, ["ID"])
    lines = [r for r in caplog.records if "circuit breaker open" in r.getMessage()]
    assert len(lines) == 1 and "1 time(s)" in lines[0].getMessage()
    assert raised.value.quiet  # the error handler does not log each one


def test_concurrent_probes_of_a_source_share_one_call():
    g = guarded([(1,)], delay=0.3)
    errors = []
    threads = [threading.Thread(target=lambda: errors.append(g.probe(2))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert errors == [None] * 5 and g.driver.calls == 1


def test_max_calls_and_max_exports_follow_the_worker_threads_unless_configured(sqlite_backend):
    config = crm_config(sqlite_backend.connection)
    config["sources"]["pinned"] = {"kind": "odbc", "connection": sqlite_backend.connection, "max_calls": 5}
    app = make_app(config)
    bridge = app.extensions["legacy_bridge"]
    try:
        assert bridge.drivers["crm"].bulkhead.limit == 3 and bridge.streams.limit == 2  # 4 threads assumed
        bridge.fit_threads(8)
        assert bridge.drivers["crm"].bulkhead.limit == 7 and bridge.streams.limit == 4
        assert bridge.drivers["pinned"].bulkhead.limit == 5
        bridge.fit_threads(1)  # sync workers: one call at a time anyway
        assert bridge.drivers["crm"].bulkhead.limit == 1 and bridge.streams.limit == 1
    finally:
        bridge.close()


def test_bad_max_calls_and_max_exports_are_reported_with_their_paths():
    config = crm_config("DSN=x", max_calls=0)
    config["service"]["max_exports"] = "many"
    with pytest.raises(ConfigError) as raised:
        validate(config)
    assert {path for path, _ in raised.value.problems} == {"sources.crm.max_calls", "service.max_exports"}


def test_a_call_abandoned_on_its_helper_thread_keeps_its_place_until_it_ends():
    bulkhead = Bulkhead("src", 1)
    bulkhead.enter()  # the request
    release = bulkhead.keep()  # its connect, given up at the deadline, runs on
    bulkhead.leave()  # the request answers its 504 and goes
    with pytest.raises(SourceBusy):  # the helper still holds the source's only place
        bulkhead.enter()
    assert bulkhead.in_flight == 1
    release()
    release()  # given back once, however often it is called
    bulkhead.enter()
    assert bulkhead.in_flight == 1
