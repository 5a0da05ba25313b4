"""``hybridkit.sides``: the one Side type, profiles per side, opening both sides, and the on-prem release rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hybridkit.config import Profile, load_config
from hybridkit.errors import CommandFailed, ConfigError, InputError
from hybridkit.ps import PSObject, PSResult
from hybridkit.sides import (
    Side,
    both_sides,
    live_release,
    onprem_release,
    open_sides,
    pick_sides,
    release_of,
    same_release,
    side_of,
)


class _Servers:
    """A session whose Get-ExchangeServer returns the given AdminDisplayVersions (or fails)."""

    name = "fake"
    request_count = 0

    def __init__(self, *versions: str, fail: bool = False) -> None:
        self.versions, self.fail, self.closed = versions, fail, False

    def run(self, command: Any, input_items: Any = None) -> PSResult:
        assert [c.cmdlet for c in command.commands] == ["Get-ExchangeServer", "Select-Object"]  # the data diet
        if self.fail:
            raise CommandFailed("The term 'Get-ExchangeServer' is not recognized")
        return PSResult([PSObject(["Microsoft.Exchange.Data.Directory.Management.ExchangeServer"],
                                  {"AdminDisplayVersion": v}) for v in self.versions])

    def close(self) -> None:
        self.closed = True


def test_side_is_a_string_everywhere_it_is_written() -> None:
    assert Side.ONPREM == "onprem" and f"{Side.ONLINE}" == "online" and json.dumps([Side.ONPREM]) == '["onprem"]'
    assert {"onprem": 1}[Side.ONPREM] == 1  # dictionaries keyed by the plain strings still find it
    assert side_of(Profile("a", "onprem", server="x")) is Side.ONPREM
    assert side_of(Profile("b", "online", server="x")) is Side.ONLINE
    assert side_of(Profile("c", "lab", endpoint="online")) is Side.ONLINE


@pytest.mark.parametrize(("shown", "release"), [
    ("Version 14.3 (Build 123.4)", "2010"),
    ("Version 15.0 (Build 1497.2)", "2013"),
    ("Version 15.1 (Build 2507.6)", "2016"),
    ("Version 15.2 (Build 1748.10)", "2019"),  # 2019 CU15
    ("Version 15.2 (Build 2562.17)", "SE"),  # Exchange Server SE RTM
    ("Version 15.2", "2019"),
    ("Version 15.20 (Build 7452.28)", None),  # Exchange Online's servers
    ("", None),
])
def test_release_of_admin_display_version(shown: str, release: str | None) -> None:
    assert release_of(shown) == release


def test_one_rule_for_the_onprem_release() -> None:
    profile = Profile("p", "onprem", server="x", exchange_version="2016")
    # The newest release the servers report, whatever order they come in (a mixed org during an upgrade).
    mixed = _Servers("Version 15.0 (Build 1497.2)", "Version 15.2 (Build 1544.4)", "Version 15.1 (Build 2507.6)")
    assert live_release(mixed) == "2019" and onprem_release(mixed, profile) == "2019"
    # Servers that do not answer (or answer nothing readable): the profile's exchange_version, else 2019.
    assert live_release(_Servers(fail=True)) is None
    assert onprem_release(_Servers(fail=True), profile) == "2016"
    assert onprem_release(_Servers("garbage"), Profile("p", "onprem", server="x", exchange_version="SE")) == "SE"
    assert onprem_release(None, Profile("o", "online", server="x", exchange_version="online")) == "2019"
    assert onprem_release(None) == "2019"
    assert same_release("SE", "2019") and same_release("2019", "se") and not same_release("2016", "2019")


def test_the_lab_reports_each_release_as_the_rule_reads_it(lab_factory: Any) -> None:
    from hybridkit.config import lab_profile_from_ready
    from hybridkit.sides import connect

    for version in ("2010", "SE"):
        handle = lab_factory(org="demo", version=version)
        session = connect(lab_profile_from_ready("lab", handle.server.ready_info()))
        try:
            assert live_release(session) == version
        finally:
            session.close()


def _config(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "hybridkit.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_pick_sides(tmp_path: Path) -> None:
    config = _config(tmp_path, 'default_profile = "lab"\n[profiles.lab]\nkind = "lab"\nready_file = "r.json"\n'
                               '[profiles.ex]\nkind = "onprem"\nserver = "ex01"\n'
                               '[profiles.exo]\nkind = "online"\nserver = "jump"\napp_id = "a"\n'
                               'certificate_thumbprint = "t"\norganization = "o"\n')
    both = pick_sides(config)  # a lab profile reaches both of the lab's endpoints
    assert {s: p.endpoint for s, p in both.items()} == {Side.ONPREM: "onprem", Side.ONLINE: "online"}
    assert list(pick_sides(config, lab_sides=(Side.ONPREM,))) == [Side.ONPREM]
    assert list(pick_sides(config, default="exo")) == [Side.ONLINE]
    named = pick_sides(config, onprem="ex", online="lab")
    assert named[Side.ONPREM].name == "ex" and named[Side.ONLINE].endpoint == "online"
    with pytest.raises(ConfigError, match="--online needs an online or pwsh"):
        pick_sides(config, online="ex")


def test_both_sides_refuses_swapped_profiles() -> None:
    onprem, online = Profile("a", "lab", endpoint="onprem"), Profile("b", "lab", endpoint="online")
    assert both_sides(onprem, online) == {Side.ONPREM: onprem, Side.ONLINE: online}
    with pytest.raises(InputError, match="were --onprem and --online swapped"):
        both_sides(online, onprem)


def test_open_sides_closes_what_it_opened_when_the_next_side_fails() -> None:
    opened: list[_Servers] = []

    def opener(profile: Profile) -> Any:
        if profile.name == "b":
            raise ConfigError("no password")
        opened.append(_Servers())
        return opened[-1]

    with pytest.raises(ConfigError):
        with open_sides({Side.ONLINE: Profile("b", "online"), Side.ONPREM: Profile("a", "onprem")}, opener=opener):
            pass
    assert len(opened) == 1 and opened[0].closed  # on-prem opened first, and closed
