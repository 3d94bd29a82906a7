"""gunicorn settings for legacy-bridge in production:

    LEGACY_BRIDGE_CONFIG=/etc/legacy-bridge.yaml gunicorn -c gunicorn.conf.py wsgi:app

The settings live in the package (``legacy_bridge/ops/gunicorn_conf.py``, where the
environment variables that change them are listed), so an installed legacy-bridge and
``legacy-bridge demo`` run with the same ones: ``gunicorn -c python:legacy_bridge.ops.gunicorn_conf``.
"""

from legacy_bridge.ops.gunicorn_conf import *  # noqa: F401,F403
