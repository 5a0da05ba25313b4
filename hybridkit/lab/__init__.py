"""Exchange lab: a local WSMan/PSRP server emulating on-prem Exchange and Exchange Online.

The package is two sides joined at a seam:

- ``transport/``: HTTP, authentication (Basic, NTLM/Negotiate, Kerberos), TLS, WSMan shells, PSRP on psrpcore's
  server side, injected faults and the request audit; it knows nothing of Exchange;
- ``exchange/``: the organisation model, the engine, Microsoft's cmdlet catalogue and binding, and the cmdlet
  handlers (``exchange/cmdlets/``); it knows nothing of WSMan;
- ``_types``: the seam (the ``Engine`` protocol and the values that cross it), the only module both sides import.

Here at the top: ``server`` (``LabServer``, ``LabOptions``: a transport serving an engine), ``cli`` (the
``hybridkit lab`` command), ``inprocess`` (``InProcessSession``: a ``hybridkit.ps.PSSession`` over the engine with no
transport, for tests), ``FIDELITY.md`` (each behaviour and its source) and ``data/`` (Microsoft's cmdlet catalogue,
object shapes).

The names below load on first use, so importing ``hybridkit.lab.cli`` does not load the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybridkit.lab.inprocess import InProcessSession
    from hybridkit.lab.server import LabOptions, LabServer

__all__ = ["InProcessSession", "LabOptions", "LabServer"]

_PUBLIC = {"InProcessSession": "hybridkit.lab.inprocess", "LabOptions": "hybridkit.lab.server",
           "LabServer": "hybridkit.lab.server"}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'hybridkit.lab' has no attribute {name!r}")
