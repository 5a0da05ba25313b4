"""Retry classification keys on the real WinRM/Exchange fault codes and texts, and the retry honours
"Please wait for N seconds" within its time budget (sources in hybridkit/lab/FIDELITY.md, "Faults and quotas")."""

from __future__ import annotations

import pypsrp.exceptions
import pytest

from hybridkit.errors import AuthError, CommandFailed, ConfigError, ThrottledError, TransportError
from hybridkit.ps._errors import is_throttling_message, map_exception, retry_after_seconds
from hybridkit.ps import RetryPolicy, call_with_retries

# Texts as Exchange and WinRM send them (each quoted in a public source; see FIDELITY.md).
WINRM_SHELLS = ("The WS-Management service cannot process the request. This user is allowed a maximum number of 18 "
                "concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.")
WINRM_SHELLS_REASON = ("The WS-Management service cannot process the request. The maximum number of concurrent shells "
                       "for this user has been exceeded. Close existing shells or raise the quota for this user.")
EXCHANGE_MAX_CONCURRENCY = ("Fail to create a runspace because you have exceeded the maximum number of connections "
                            "allowed : 18 for the policy party : MaxConcurrency. Please close existing runspace and try "
                            "again.")
EXO_BUDGET = ("Fail to create runspace because you have exceeded your budget to create runspace. Please wait for 2 "
              "seconds.")
EXO_BUDGET_FULL = ("[AuthZRequestId=4cdfc096-304e-49a5-b021-61ea00afd64d][FailureCategory=AuthZ-AuthorizationException]"
                   " " + EXO_BUDGET.replace("2 seconds", "37 seconds"))
USER_LOAD = ("The WS-Management service cannot process the request. The user load quota of 400 requests per 5 seconds "
             "has been exceeded. Send future requests at a slower rate or raise the quota for this user. The next "
             "request from this user will not be approved for at least 1500 milliseconds.")
COMMANDS_PER_SHELL = ("The WS-Management service cannot process the request. The maximum number of concurrent commands "
                      "per shell has been exceeded. Retry the request later or raise the Maximum Commands per Shell "
                      "quota.")
# Permanent: retrying changes nothing.
BATCH_LIMIT = ("The maximum number of migration batches is already running. Please remove a batch before you add "
               "another one")
NOT_FOUND = "The operation couldn't be performed because object 'ann' couldn't be found on 'DC01.contoso.local'."


def fault(code: int, reason: str) -> pypsrp.exceptions.WSManFaultError:
    return pypsrp.exceptions.WSManFaultError(code, "ex01", reason, "", "", "")


@pytest.mark.parametrize("exc", [
    fault(2150859173, WINRM_SHELLS),
    fault(2150859173, WINRM_SHELLS_REASON),
    fault(2150859173, "quota"),  # the code alone says it: ERROR_WSMAN_QUOTA_MAX_SHELLS
    fault(2150859174, "quota"),  # ERROR_WSMAN_QUOTA_MAX_OPERATIONS
    fault(2152992672, EXCHANGE_MAX_CONCURRENCY),
    fault(2152992672, EXO_BUDGET),
    fault(2152992672, EXO_BUDGET_FULL),
    fault(2150859175, USER_LOAD),
], ids=["shells-message", "shells-reason", "max-shells-code", "max-operations-code", "exchange-maxconcurrency",
        "exo-budget", "exo-budget-full", "user-load-quota"])
def test_real_quota_and_throttling_faults_are_throttled(exc: Exception) -> None:
    assert type(map_exception(exc)) is ThrottledError


@pytest.mark.parametrize("text", [WINRM_SHELLS, WINRM_SHELLS_REASON, EXCHANGE_MAX_CONCURRENCY, EXO_BUDGET,
                                  EXO_BUDGET_FULL, USER_LOAD])
def test_real_texts_are_throttling_messages_on_their_own(text: str) -> None:
    # a pipeline's terminating error (Connect-ExchangeOnline on the jump host) carries only the text
    assert is_throttling_message(text)


def test_permanent_failures_are_not_transient() -> None:
    for text in (BATCH_LIMIT, NOT_FOUND, "AADSTS700027: Client assertion contains an invalid signature."):
        assert not is_throttling_message(text), text
    assert type(map_exception(fault(5, "Access is denied."))) is AuthError
    missing = fault(2150858811, "The WS-Management service cannot process the request. The resource URI "
                                "(http://schemas.microsoft.com/powershell/Microsoft.Exchange) was not found in the "
                                "WS-Management catalog.")
    assert type(map_exception(missing)) is ConfigError
    assert not isinstance(map_exception(pypsrp.exceptions.SerializationError("x")), TransportError)
    # a full shell's command quota is cured by a fresh pool: transient, but not a reason to slow down
    assert type(map_exception(fault(2150858843, COMMANDS_PER_SHELL))) is TransportError


def test_retry_after_is_read_from_exchange_and_winrm_texts() -> None:
    assert retry_after_seconds(EXO_BUDGET) == 2
    assert retry_after_seconds(EXO_BUDGET_FULL) == 37
    assert retry_after_seconds(USER_LOAD) == 1.5
    assert retry_after_seconds(EXCHANGE_MAX_CONCURRENCY) is None
    mapped = map_exception(fault(2152992672, EXO_BUDGET_FULL))
    assert isinstance(mapped, ThrottledError) and mapped.retry_after == 37
    assert map_exception(fault(2150859173, WINRM_SHELLS)).retry_after is None  # type: ignore[union-attr]


def test_retry_waits_as_long_as_exchange_asks_within_the_budget() -> None:
    sleeps: list[float] = []
    calls: list[int] = []

    def budget() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ThrottledError("Connect-ExchangeOnline: " + EXO_BUDGET_FULL, retry_after=37)
        return "ok"

    policy = RetryPolicy(attempts=5, initial_wait=0.5, max_wait=10, total_seconds=120, jitter=0.5)
    assert call_with_retries(budget, policy, sleep=sleeps.append) == "ok"
    assert len(sleeps) == 1 and 37 <= sleeps[0] <= 37.5  # not the 1-second backoff, not capped at max_wait

    def too_long() -> None:
        raise ThrottledError(EXO_BUDGET_FULL, retry_after=600)

    sleeps.clear()
    with pytest.raises(ThrottledError):
        call_with_retries(too_long, policy, sleep=sleeps.append)
    assert sleeps == []  # waiting past the retry's total time budget would be pointless: give up at once


def test_permanent_errors_still_fail_at_once() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise CommandFailed(BATCH_LIMIT)

    with pytest.raises(CommandFailed):
        call_with_retries(broken, RetryPolicy(), sleep=lambda s: None)
    assert calls == [1]
