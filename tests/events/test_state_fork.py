"""A forked process (a gunicorn worker of the preloaded app) opens its own state-store
connections instead of using its parent's: two processes on one PostgreSQL session corrupt
each other's transactions (found by tests/integration/test_many_hosts.py: 500s)."""

from __future__ import annotations

import os

from sqlalchemy import text

from helpers.backends import pg_state
from legacy_bridge.events.state import StateStore


def _backend_pid(store: StateStore) -> int:
    with store.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_forked_child_uses_a_session_of_its_own_and_the_parent_keeps_its_own():
    with pg_state(f"lb_fork_test_{os.getpid()}") as url:
        store = StateStore(url)
        try:
            parent = _backend_pid(store)  # the pool now holds this session
            read, write = os.pipe()
            child = os.fork()
            if child == 0:  # pragma: no cover - the child reports through the pipe
                code = 1
                try:
                    os.write(write, str(_backend_pid(store)).encode())
                    code = 0
                finally:
                    os._exit(code)
            os.close(write)
            reported = os.read(read, 64).decode()
            os.close(read)
            _, status = os.waitpid(child, 0)
            assert os.waitstatus_to_exitcode(status) == 0
            assert int(reported) != parent
            assert _backend_pid(store) == parent  # the child did not close the parent's session
        finally:
            store.close()
