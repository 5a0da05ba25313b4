"""Latency, transient faults and limits the lab injects, with the messages the real servers send. No I/O.

``FaultPlan.decide(action)`` picks, per WSMan request, whether to delay it and which transient fault (if any)
to answer with; the HTTP/WSMan layers act on the decision. Kinds:

- ``quota``: WinRM's per-user shell quota fault on Create (as if other shells of the user were open);
- ``busy``: HTTP 503 Service Unavailable (IIS/WinRM overloaded);
- ``drop``: the TCP connection is closed without a response;
- ``throttle``: Exchange's runspace budget error (Create) — the throttling error for too many requests.
"""

from __future__ import annotations

import dataclasses
import enum
import random
import threading

from hybridkit.lab._wsman import Action, WSManFault

__all__ = ["FaultKind", "FaultPlan", "quota_fault", "throttle_fault", "BUSY_BODY"]

BUSY_BODY = (
    b"<html><head><title>Service Unavailable</title></head><body><h2>Service Unavailable</h2>"
    b"<hr><p>HTTP Error 503. The service is unavailable.</p></body></html>"
)


class FaultKind(enum.Enum):
    """A transient fault the lab can inject."""

    QUOTA = "quota"
    BUSY = "busy"
    DROP = "drop"
    THROTTLE = "throttle"


_CREATE_ONLY = {FaultKind.QUOTA, FaultKind.THROTTLE}


def quota_fault(limit: int) -> WSManFault:
    """WinRM's fault when a user already has ``limit`` shells open (winrs MaxShellsPerUser)."""
    return WSManFault(
        2150859174,
        "w:QuotaLimit",
        "The WS-Management service cannot process the request. This user is allowed a maximum number of "
        f"{limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.",
    )


def throttle_fault(wait_seconds: int = 5) -> WSManFault:
    """Exchange's throttling error when a user opens runspaces faster than its budget allows."""
    return WSManFault(
        2150859174,
        "w:QuotaLimit",
        "Fail to create a runspace because you have exceeded your budget to create runspace. Please wait for "
        f"{wait_seconds} seconds. Policy: GlobalThrottlingPolicy; Budget: PowerShellMaxConcurrency; Type: "
        "PowerShellCmdletRunspaceCreation.",
    )


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to do with one request: sleep ``delay`` seconds, then inject ``fault`` (None = serve normally)."""

    delay: float
    fault: FaultKind | None


class FaultPlan:
    """Per-request latency and random transient faults.

    Args:
        latency_ms: Added to every WSMan request.
        fault_rate: Probability (0..1) that a request gets a transient fault.
        kinds: The fault kinds to choose from (quota and throttle only ever hit Create).
        seed: Seed for reproducible fault sequences.
    """

    def __init__(
        self,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        kinds: tuple[FaultKind, ...] = tuple(FaultKind),
        seed: int | None = None,
        max_shells: int | None = None,
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        self.latency = max(0.0, latency_ms) / 1000.0
        self.fault_rate = fault_rate
        self.kinds = tuple(kinds)
        self.max_shells = max_shells
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def decide(self, action: str) -> Decision:
        """The decision for a request with wsa:Action ``action`` (Delete is never faulted: cleanup must work)."""
        if self.fault_rate <= 0 or action == Action.DELETE or action == Action.RECEIVE:
            return Decision(self.latency, None)
        with self._lock:
            if self._rng.random() >= self.fault_rate:
                return Decision(self.latency, None)
            candidates = [k for k in self.kinds if action == Action.CREATE or k not in _CREATE_ONLY]
            if not candidates:
                return Decision(self.latency, None)
            return Decision(self.latency, self._rng.choice(candidates))

    def fault_for(self, kind: FaultKind) -> WSManFault:
        """The SOAP fault for a fault kind answered with a fault envelope."""
        if kind is FaultKind.QUOTA:
            return quota_fault(self.max_shells or 5)
        return throttle_fault()
