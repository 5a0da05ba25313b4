"""Every exception pypsrp defines maps into hybridkit's error tree, with the right retry class."""

from __future__ import annotations

import inspect

import pypsrp.exceptions
import pypsrp.powershell
import pytest
import requests
import spnego.exceptions

from hybridkit.errors import AuthError, CommandFailed, ConfigError, HybridkitError, ThrottledError, TransportError
from hybridkit.ps._errors import map_exception, translate_errors


def _sample(cls: type[BaseException]) -> BaseException:
    """An instance of ``cls`` with plausible args (pypsrp reads fields from args positions)."""
    if issubclass(cls, pypsrp.exceptions._InvalidStateError):
        return cls(0, [1], "do something")
    if issubclass(cls, pypsrp.exceptions.WSManFaultError):
        return cls(2150858843, "ex01", "The request failed.", "", "", "")
    if issubclass(cls, pypsrp.exceptions.WinRMTransportError):
        return cls("http", 500, "boom")
    return cls("boom")


def _pypsrp_exception_classes() -> list[type[BaseException]]:
    found = []
    for module in (pypsrp.exceptions, pypsrp.powershell):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


@pytest.mark.parametrize("cls", _pypsrp_exception_classes(), ids=lambda c: c.__name__)
def test_every_pypsrp_exception_is_mapped(cls: type[BaseException]) -> None:
    mapped = map_exception(_sample(cls))
    assert isinstance(mapped, HybridkitError), cls


def test_enumeration_found_the_known_classes() -> None:
    names = {c.__name__ for c in _pypsrp_exception_classes()}
    assert {"WinRMError", "AuthenticationError", "WinRMTransportError", "WSManFaultError",
            "InvalidRunspacePoolStateError", "SerializationError"} <= names


@pytest.mark.parametrize("cls", [c for _, c in inspect.getmembers(requests.exceptions, inspect.isclass)
                                 if issubclass(c, requests.exceptions.RequestException)], ids=lambda c: c.__name__)
def test_every_requests_exception_is_mapped(cls: type[BaseException]) -> None:
    exc = cls("boom", "doc", 0) if cls.__name__ == "JSONDecodeError" else cls("boom")
    assert isinstance(map_exception(exc), HybridkitError)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (pypsrp.exceptions.AuthenticationError("Failed to authenticate the user u with basic"), AuthError),
        (pypsrp.exceptions.WinRMTransportError("http", 401, ""), AuthError),
        (pypsrp.exceptions.WinRMTransportError("http", 503, "Service Unavailable"), ThrottledError),
        (pypsrp.exceptions.WinRMTransportError("http", 500, "oops"), TransportError),
        (pypsrp.exceptions.WinRMTransportError("http", 404, "not found"), ConfigError),
        (pypsrp.exceptions.WSManFaultError(
            2150859173, "ex01",
            "The WS-Management service cannot process the request. This user is allowed a maximum number of 18 "
            "concurrent shells, which has been exceeded.", "", "", ""), ThrottledError),
        (pypsrp.exceptions.WSManFaultError(5, "ex01", "Access is denied.", "", "", ""), AuthError),
        (pypsrp.exceptions.WSManFaultError(2150858843, "ex01", "The shell was not found", "", "", ""), TransportError),
        (pypsrp.exceptions.SerializationError("cannot serialize"), CommandFailed),
        (requests.exceptions.ConnectionError("Connection reset by peer"), TransportError),
        (requests.exceptions.ReadTimeout("read timed out"), TransportError),
        (requests.exceptions.SSLError("certificate verify failed"), AuthError),
        (requests.exceptions.InvalidURL("bad"), ConfigError),
        (ConnectionResetError(104, "Connection reset by peer"), TransportError),
        (spnego.exceptions.BadMechanismError(context_msg="bad creds"), AuthError),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v.__name__,
)
def test_classification(exc: BaseException, expected: type[HybridkitError]) -> None:
    mapped = map_exception(exc)
    assert type(mapped) is expected


def test_retryable_and_permanent_are_distinguished() -> None:
    assert isinstance(map_exception(requests.exceptions.ConnectionError("x")), TransportError)
    assert not isinstance(map_exception(pypsrp.exceptions.AuthenticationError("x")), TransportError)


def test_translate_errors_chains_and_leaves_foreign_exceptions() -> None:
    with pytest.raises(TransportError) as info:
        with translate_errors():
            raise requests.exceptions.ConnectionError("dropped")
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)
    with pytest.raises(KeyError):
        with translate_errors():
            raise KeyError("ours")
