"""Schemathesis against /openapi.json of the demo configuration (CRM in SQLite, the EBCDIC
extract, the legacy TMS over SOAP) with auth on and a valid key: no 5xx, and every
response (status, content type, headers, body) as the document says.  Fixed seed
(derandomized), bounded examples, so CI runs the same cases every time."""

from __future__ import annotations

import re
import re._constants as regex_constants
import re._parser as regex_parser

import hypothesis.strategies._internal.regex as hypothesis_regex
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from helpers.backends import make_app
from helpers.fuzzing import AS_DOCUMENTED
from legacy_bridge.demo import crm as demo_module
from legacy_bridge.demo.tms_config import add_to_config
from legacy_bridge.demo.tms_simulator import TmsSimulator, serve
from legacy_bridge.security.scopes import hash_key, new_key

KEY = new_key()


@pytest.fixture(autouse=True, scope="module")
def regex_strategies_built_once():
    """Hypothesis builds the strategy of a pattern anew for every parameter of every operation,
    walking each code point of a character class: the SOAP text classes (every code point XML
    carries, spelt as the characters allowed) took it about 3 s a parameter, most of this module's
    minutes.  A built strategy is immutable: the same pattern and alphabet reuse it."""
    build = hypothesis_regex.base_regex_strategy

    built: dict = {}

    def base_regex_strategy(regex, *, parsed=None, alphabet):
        # ``parsed`` is always the parse of ``regex`` itself; an alphabet is told by its repr
        key = (regex.pattern, regex.flags, repr(alphabet))
        if key not in built:
            built[key] = wide_class_strategy(regex) or build(regex, parsed=parsed, alphabet=alphabet)
        return built[key]

    hypothesis_regex.base_regex_strategy = base_regex_strategy
    yield
    hypothesis_regex.base_regex_strategy = build


def wide_class_strategy(regex):
    """``^[ranges]{m,n}\\Z`` over more than 60,000 code points (the SOAP text classes) as a
    list of code points drawn from the ranges: hypothesis 6.170 spends ~10 s building such a class
    one code point at a time; the same strings, built at once.  None for any other pattern."""
    tree = regex_parser.parse(regex.pattern, regex.flags).data
    shape = [op for op, _ in tree]
    if shape != [regex_constants.AT, regex_constants.MAX_REPEAT, regex_constants.AT] or regex.flags & re.IGNORECASE:
        return None
    low, high, inner = tree[1][1]
    if len(inner) != 1 or inner[0][0] != regex_constants.IN:
        return None
    ranges = []
    for op, value in inner[0][1]:
        if op == regex_constants.RANGE:
            ranges.append(value)
        elif op == regex_constants.LITERAL:
            ranges.append((value, value))
        else:  # a negation or a category: hypothesis' own way
            return None
    if sum(b - a + 1 for a, b in ranges) < 60_000:
        return None
    char = st.one_of([st.integers(a, b) for a, b in ranges]).map(chr)
    most = None if high == regex_constants.MAXREPEAT else high
    return st.lists(char, min_size=low, max_size=most).map("".join)


def accepted_unless_the_source_refused(ctx, response, case):
    """Positive data acceptance of the query and path parameters: a read the document allows is
    never refused by legacy-bridge's own checks.  A 400 that carries the legacy service's fault
    (``fault_code``: the SOAP service judged the values) is the source's word, not ours.  Create
    bodies are not held to it yet: the record schema a create takes describes what records hold
    (decimals without a pattern, any text), not what the service accepts (the writes issue)."""
    if case.method.upper() != "GET" or (response.status_code == 400 and "fault_code" in (response.json() or {})):
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [*AS_DOCUMENTED, accepted_unless_the_source_refused]


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    built = demo_module.build(tmp_path_factory.mktemp("demo"))
    with serve(TmsSimulator()) as tms_url:
        add_to_config(built.config, tms_url)
        config = yaml.safe_load(built.config.read_text())
        config["auth"] = {"keys": [{"id": "fuzz", "hash": hash_key(KEY), "scopes": ["*:*"]}]}
        app = make_app(config)
        yield app
        app.extensions["legacy_bridge"].close()


@pytest.fixture(scope="module")
def api(demo_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", demo_app)


def _without_cursor(case):
    """A cursor (or a partition) is any text to the document, but only a ``next`` (a token of
    /partitions) this service signed is taken (a tampered one is a 400 by design): the examples
    leave them out; the paging and partition tests use real ones."""
    if case.query:
        case.query.pop("cursor", None)
        case.query.pop("partition", None)
    return case


def run_operation(operation) -> None:
    """Up to 25 derandomized examples of one operation, each called and checked."""
    strategy = operation.as_strategy()
    if any(p.name in ("cursor", "partition") for p in operation.query):
        strategy = strategy.map(_without_cursor)

    @given(case=strategy)
    @settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def examples(case) -> None:
        case.call_and_validate(headers={"X-API-Key": KEY}, checks=CHECKS)

    examples()


def test_every_operation_answers_as_documented(api):
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 8
    failures = []
    for operation in operations:
        try:
            run_operation(operation)
        except BaseExceptionGroup as error:  # schemathesis' FailureGroup: collected, every operation is tried
            failures.append(f"{operation.label}: {error}")
    assert failures == [], "\n\n".join(failures)


# -- every check, another seed -------------------------------------------------------------

SEED = 20261129  # not the derandomized seed above: other cases, the same every run


@pytest.fixture(scope="module")
def feed_app(tmp_path_factory):
    """The demo with a change feed on customers: its /changes route and the webhook routes too."""
    built = demo_module.build(tmp_path_factory.mktemp("demo-feed"))
    with serve(TmsSimulator()) as tms_url:
        add_to_config(built.config, tms_url)
        config = yaml.safe_load(built.config.read_text())
        config["auth"] = {"keys": [{"id": "fuzz", "hash": hash_key(KEY), "scopes": ["*:*"]}]}
        config["resources"]["customers"]["changes"] = {"scan_on_request": False}
        config["service"]["state"] = f"sqlite:///{tmp_path_factory.mktemp('state') / 'state.db'}"
        config["webhooks"] = {"allow_networks": ["127.0.0.0/8"]}
        app = make_app(config)
        yield app
        app.extensions["legacy_bridge"].close()


#: refusals no schema can announce, each said in the document: a cursor or a partition is a signed
#: token (any other text is a 400), a webhook's host must resolve, the legacy system checks values
#: by its own rules (a SOAP fault the source maps to invalid input), preconditions and idempotency keys
ANNOUNCED = (
    ':invalid-cursor"',
    ':invalid-partition"',
    "cannot resolve",
    "answered with a fault",
    # If-Match takes only the record's current ETag; an Idempotency-Key only the payload it came with
    ':precondition-failed"',
    ':idempotency-key-reused"',
)


def run_every_check(operation, checks: dict, mode: GenerationMode = GenerationMode.POSITIVE) -> None:
    """Up to 25 examples of one operation from SEED (valid ones, or invalid ones for ``mode``
    NEGATIVE), each called and checked as ``checks`` says (``call_and_validate`` arguments)."""

    @seed(SEED)
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=25, deadline=None, derandomize=False, database=None, suppress_health_check=list(HealthCheck))
    def examples(case) -> None:
        case.call_and_validate(headers={"X-API-Key": KEY}, **checks)

    examples()


def failures_of(
    app, checks: dict, modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE,), only: str = ""
) -> list[str]:
    failures = []
    for result in schemathesis.openapi.from_wsgi("/openapi.json", app).get_all_operations():
        operation = result.ok()
        if only not in operation.label:
            continue
        try:
            for mode in modes:
                try:
                    run_every_check(operation, checks, mode)
                except Unsatisfiable:  # nothing to send wrong (no parameter, no body)
                    if mode is not GenerationMode.NEGATIVE:
                        raise
        except BaseExceptionGroup as error:  # schemathesis' FailureGroup: collected, every operation is tried
            failures.append(f"{operation.label}: {error}")
    return failures


# on the demo with its change feed, state store and loopback webhook targets: every route the demo
# serves and the webhook routes (the demo's own document is the same but for those; one run of the
# every-check suite is what CI can afford)
def test_every_operation_passes_every_check_from_another_seed(feed_app):
    """Every check schemathesis has, on valid and on invalid requests (negative data is refused);
    positive data acceptance in the next test."""
    app = feed_app
    failures = failures_of(app, {"excluded_checks": [positive_data_acceptance]}, tuple(GenerationMode))
    assert failures == [], "\n\n".join(failures)


def test_what_the_document_allows_is_taken_from_another_seed(feed_app):
    """Positive data acceptance: a request the document allows is not refused (but for the
    refusals no schema can announce, ANNOUNCED)."""
    app = feed_app
    failures = [
        f
        for f in failures_of(app, {"checks": [positive_data_acceptance, not_a_server_error]})
        if not any(why in f for why in ANNOUNCED)
    ]
    assert failures == [], "\n\n".join(failures)
