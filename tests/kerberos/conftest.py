"""Kerberos fixtures: one throwaway realm and KDC per test session, and labs that accept Kerberos from it.

The tests skip (with the reason) when the MIT KDC or gssapi is missing; CI sets HYBRIDKIT_REQUIRE_KERBEROS=1
(see .ci/run) so they fail instead of silently skipping there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from hybridkit.lab.transport._kerberos import KERBEROS_ENV_VARS, Realm, missing_kerberos_pieces



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kerberos)


@pytest.fixture(scope="session")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    """The session's realm CONTOSO.TEST (KDC on a free loopback port), active in this process."""
    missing = missing_kerberos_pieces()
    if missing:
        reason = "Kerberos tests need MIT Kerberos and gssapi; missing: " + "; ".join(missing)
        if os.environ.get("HYBRIDKIT_REQUIRE_KERBEROS") == "1":
            pytest.fail(reason + " (HYBRIDKIT_REQUIRE_KERBEROS=1)")
        pytest.skip(reason)
    created = Realm.create()
    created.activate()
    try:
        yield created
    finally:
        created.close()


@pytest.fixture(autouse=True)
def _restore_kerberos_env() -> Iterator[None]:
    """A profile's krb5_config sets KRB5_CONFIG process-wide: put the session's values back after each test."""
    saved = {name: os.environ.get(name) for name in KERBEROS_ENV_VARS}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def kerberos_labs(realm: Realm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Any]]:
    """``kerberos_labs("kerberos"|"negotiate")``: a session-wide lab (demo org) with that auth, and its ready file."""
    pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")
    from hybridkit.lab.server import LabOptions, LabServer

    labs: dict[str, Any] = {}

    def get(auth: str) -> Any:
        if auth not in labs:
            directory = tmp_path_factory.mktemp(f"lab-{auth}")
            server = LabServer(LabOptions(port=0, org="demo", auth=auth, audit=directory / "audit.jsonl",
                                          ready_file=directory / "ready.json"))
            server.start()
            server.ready_file = directory / "ready.json"
            labs[auth] = server
        return labs[auth]

    try:
        yield get
    finally:
        for server in labs.values():
            server.stop()
