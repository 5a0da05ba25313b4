"""TLS errors a person can act on: a certificate issued for other names says so and lists them (a CA bundle would
not help); turning certificate validation off is allowed but warned about on every run."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lab"))
from fake_engine import FakeEngine  # noqa: E402

from hybridkit.config import lab_profile_from_ready, resolve_connection  # noqa: E402
from hybridkit.errors import AuthError  # noqa: E402
from hybridkit.ps import Command  # noqa: E402
from hybridkit.ps._errors import map_exception  # noqa: E402
from hybridkit.ps._pypsrp import PypsrpSession  # noqa: E402
from hybridkit.ps import RetryPolicy  # noqa: E402


def _ready(handle: Any, host: str) -> dict[str, Any]:
    info = dict(handle.server.ready_info())
    for key in ("onprem_url", "online_url"):
        info[key] = info[key].replace("127.0.0.1", host)
    return info


def test_a_name_mismatch_names_the_certificate_names(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), tls=True, host="0.0.0.0")
    profile = lab_profile_from_ready("lab", _ready(handle, "127.0.0.2"))  # the lab's certificate is for 127.0.0.1
    with pytest.raises(AuthError) as info:
        with PypsrpSession(resolve_connection(profile), retry=RetryPolicy(attempts=1)) as session:
            session.open()
    message = str(info.value)
    assert "is not valid for the name '127.0.0.2'" in message
    assert "127.0.0.1" in message and "localhost" in message  # the names the certificate has, read from it
    assert "set ca_bundle" not in message.lower() and "ca_bundle does not help" in message  # the CA is not the problem


def test_an_untrusted_certificate_still_points_at_ca_bundle() -> None:
    exc = requests.exceptions.SSLError("certificate verify failed: unable to get local issuer certificate")
    assert "ca_bundle" in str(map_exception(exc))


def test_validation_off_is_warned_on_every_run(lab_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    handle = lab_factory(engine=FakeEngine(), tls=True)
    profile = lab_profile_from_ready("lab", handle.server.ready_info(), ca_bundle=None, cert_validation=False)
    caplog.set_level(logging.WARNING)
    for _run in range(2):
        with PypsrpSession(resolve_connection(profile)) as session:
            session.run(Command.of("Get-Thing", Identity="alice"))
    warnings = [r.getMessage() for r in caplog.records if "certificate validation is off" in r.getMessage()]
    assert len(warnings) == 2 and all("profile lab" in w for w in warnings)
