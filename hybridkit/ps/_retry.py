"""Bounded, jittered retries of transient failures: the only user of tenacity in hybridkit.

Part of the bridge (the session retries each pipeline here), so it sits below everything that runs commands.

Only ``TransportError`` (and its subclass ``ThrottledError``) is retried; every other error is permanent and
raised at once. Attempts and total time are both capped; waits grow exponentially with random jitter so several
workers do not retry in step. When the server said how long to wait (Exchange Online's "Please wait for N
seconds", carried as ``ThrottledError.retry_after``), that wait is used instead, plus jitter, and not capped by
``max_wait``; if it would end past ``total_seconds`` the retry gives up at once rather than sleep in vain. The
caller makes each attempt start on a fresh runspace pool (the session discards a pool that failed with a
``TransportError``).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from hybridkit.errors import ThrottledError, TransportError

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryPolicy", "call_with_retries"]

log = logging.getLogger("hybridkit.ps")
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry a transient failure.

    Attributes:
        attempts: total tries, the first included (1 = no retry).
        initial_wait: seconds before the first retry (doubled each time, plus jitter).
        max_wait: cap on one wait.
        total_seconds: give up once this much time has passed since the first try.
        jitter: up to this many random seconds added to each wait.
        throttle_factor: waits after a ``ThrottledError`` are this many times longer.
    """

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 10.0
    total_seconds: float = 120.0
    jitter: float = 0.5
    throttle_factor: float = 2.0


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


class _Wait(tenacity.wait.wait_base):
    def __init__(self, policy: RetryPolicy) -> None:
        self._base = tenacity.wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter
        )
        self._factor = policy.throttle_factor
        self._max = policy.max_wait

        self._jitter = policy.jitter

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        asked = _asked_wait(retry_state)
        if asked is not None:
            return asked + random.uniform(0, self._jitter)
        wait = float(self._base(retry_state))
        outcome = retry_state.outcome
        if outcome is not None and isinstance(outcome.exception(), ThrottledError):
            wait = min(wait * self._factor, self._max * self._factor)
        return wait


def _asked_wait(retry_state: tenacity.RetryCallState) -> float | None:
    """The wait the server asked for with the last failure, if any."""
    exc = retry_state.outcome.exception() if retry_state.outcome is not None else None
    return exc.retry_after if isinstance(exc, ThrottledError) else None


def _stop(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], bool]:
    bounds = tenacity.stop_after_attempt(policy.attempts) | tenacity.stop_after_delay(policy.total_seconds)

    def stop(retry_state: tenacity.RetryCallState) -> bool:
        if bounds(retry_state):
            return True
        asked = _asked_wait(retry_state)
        elapsed = retry_state.seconds_since_start or 0.0
        return asked is not None and elapsed + asked > policy.total_seconds

    return stop


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy = DEFAULT_RETRY,
    *,
    what: str = "operation",
    on_retry: Callable[[TransportError, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it succeeds, retrying only ``TransportError`` within ``policy``'s bounds.

    Args:
        fn: the attempt; it must be safe to repeat (the session opens a fresh pool after a transport failure).
        policy: attempts, waits and total time.
        what: a short label for log lines (a cmdlet name, never parameters).
        on_retry: called with the error and the number of the attempt that failed, before sleeping.
        sleep: injectable for tests.

    Returns:
        What ``fn`` returned. The last ``TransportError`` is raised when the bounds are exhausted.
    """

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        assert isinstance(exc, TransportError)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: transient failure (%s: %s); retry %d of %d in %.1fs",
            what, type(exc).__name__, exc, state.attempt_number, policy.attempts - 1, wait,
        )
        if on_retry is not None:
            on_retry(exc, state.attempt_number)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TransportError),
        stop=_stop(policy),
        wait=_Wait(policy),
        reraise=True,
        sleep=sleep,
        before_sleep=before_sleep,
    )
    return retrying(fn)
