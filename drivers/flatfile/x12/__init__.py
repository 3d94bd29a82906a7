"""X12 EDI: reading interchanges (envelopes and counts checked), writing them, and the
997/999 acknowledgements of what was received.

The names the rest of legacy-bridge uses are exported here: the model (:mod:`.model`), the
reader (:class:`X12Reader`, :func:`read_interchanges`), the writer (:mod:`.writer`) and
:func:`deliver_interchange`; the acknowledgements are in :mod:`.acks`.
"""

from legacy_bridge.drivers.flatfile.x12 import model, writer
from legacy_bridge.drivers.flatfile.x12.deliver import deliver_interchange
from legacy_bridge.drivers.flatfile.x12.model import *  # noqa: F403 (the model is the package's vocabulary)
from legacy_bridge.drivers.flatfile.x12.reader import X12Reader, read_interchanges
from legacy_bridge.drivers.flatfile.x12.walk import Event
from legacy_bridge.drivers.flatfile.x12.writer import *  # noqa: F403

__all__ = [*model.__all__, *writer.__all__, "Event", "X12Reader", "read_interchanges", "deliver_interchange"]
