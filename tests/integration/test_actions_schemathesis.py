"""Schemathesis against the actions of /openapi.json on PostgreSQL and MariaDB: whatever the
parameters, no 5xx and every answer (status, content type, headers, body) as the document says.
Fixed seed (derandomized), bounded examples, so CI runs the same cases every time."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from helpers.backends import Backend, make_app
from helpers.fuzzing import AS_DOCUMENTED
from helpers.procedures import create_routines, erp_config

#: the actions over routines that fail on purpose (a timeout, a lost connection) answer 5xx by design
FUZZED = ("allocate-order", "tax", "reserve", "claim", "line-list", "split")


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def app(request, tmp_path_factory):
    b: Backend = request.getfixturevalue(f"{request.param}_only")
    create_routines(b)
    app = make_app(erp_config(b, state=f"sqlite:///{tmp_path_factory.mktemp('state') / 'state.db'}"))
    yield app
    app.extensions["legacy_bridge"].close()


def test_every_action_answers_as_documented(app):
    api = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [r.ok() for r in api.get_all_operations() if r.ok().path.rsplit("/", 1)[-1] in FUZZED]
    assert len(operations) >= 4
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def examples(case) -> None:
            case.call_and_validate(checks=AS_DOCUMENTED)

        try:
            examples()
        except BaseExceptionGroup as error:  # schemathesis' FailureGroup: collected, every operation is tried
            failures.append(f"{operation.label}: {error}")
    assert failures == [], "\n\n".join(failures)
