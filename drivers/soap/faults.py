"""SOAP faults in the service's own terms: the codes a fault may be known by, and the domain
error a resource's ``faults:`` config makes of it (``FAULT_KINDS`` in legacy_bridge.errors).

The config, checked at start-up (legacy_bridge/config/operations.py), is normalized to
``{kind: {"codes": [...], "retry_after": seconds | None}}``; a code listed nowhere is a plain
:class:`SourceFault`.
"""

from __future__ import annotations

import logging
from typing import Any

from zeep import exceptions as zx

from legacy_bridge.errors import FAULT_KINDS, SourceFault

log = logging.getLogger(__name__)
_SOAP11_NAMES = {"Sender": "Client", "Receiver": "Server"}


def _local(code: Any) -> str:
    """``soap11env:Client.X`` or a QName -> ``Client.X``."""
    text = getattr(code, "localname", None) or str(code or "")
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def fault_codes(fault: zx.Fault) -> list[str]:
    """Every name a configured code may match, the reported one (SOAP 1.1 style) last.

    SOAP 1.2 says ``Sender`` + subcode ``NotFound`` where SOAP 1.1 says
    ``Client.NotFound``: both give ``Client.NotFound``, so one config serves both.
    """
    code = _local(fault.code)
    parts = [_SOAP11_NAMES.get(code, code)] + [_local(c) for c in (fault.subcodes or [])]
    dotted = ".".join(parts)
    return [code, ".".join([code] + parts[1:]), dotted.rsplit(".", 1)[-1], dotted]


def translate_fault(source: str, fault: zx.Fault, faults: dict[str, dict[str, Any]]) -> SourceFault:
    """The domain error of ``fault`` under a resource's ``faults`` (normalized config)."""
    codes = fault_codes(fault)
    kind, retry_after = SourceFault, None
    for name, entry in faults.items():
        if set(codes) & set(entry.get("codes", ())):
            kind, retry_after = FAULT_KINDS[name], entry.get("retry_after")
            break
    log.log(
        logging.WARNING if kind is SourceFault else logging.INFO,
        "source %s: SOAP fault %s: %s",
        source,
        codes,
        fault.message,
    )
    error = kind(
        f"source {source!r} answered with a fault: {fault.message}",
        source,
        fault_code=codes[-1],
        fault_string=fault.message,
    )
    if retry_after is not None:
        error.retry_after = retry_after
    return error
