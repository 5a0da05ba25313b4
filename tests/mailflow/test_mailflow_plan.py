"""The pure planner: declared vs observed, as tables of cases."""

from __future__ import annotations

import pytest

from hybridkit.mailflow._read import parse_spec
from hybridkit.mailflow._model import Action, Kind, ObservedObject
from hybridkit.mailflow._plan import fingerprint, plan_mailflow
from hybridkit.mailflow._scaffold import SCENARIOS

SPEC = parse_spec(SCENARIOS["azure-relay"])
LIVE_SEND = {
    "Name": "My company to Office 365", "AddressSpaces": ["SMTP:*;1"],
    "SmartHosts": ["contoso-com.mail.protection.outlook.com"], "CloudServicesMailEnabled": True,
    "RequireTLS": True, "TlsAuthLevel": "CertificateValidation", "DNSRoutingEnabled": False,
}
LIVE_IN = {
    "Name": "From on-premises relay", "ConnectorType": "OnPremises", "SenderDomains": ["smtp:*;1"],
    "SenderIPAddresses": ["203.0.113.25"], "RestrictDomainsToIPAddresses": True, "RequireTls": True,
}
LIVE_DOMAIN = {"Name": "Fabrikam", "DomainName": "fabrikam.com", "DomainType": "InternalRelay"}


def observed(**overrides: dict) -> list[ObservedObject]:
    base = {"send": dict(LIVE_SEND), "inbound": dict(LIVE_IN), "domain": dict(LIVE_DOMAIN)}
    for key, props in overrides.items():
        if props is None:
            base.pop(key)
        else:
            base[key].update(props)
    kinds = {"send": Kind.SEND_CONNECTOR, "inbound": Kind.INBOUND_CONNECTOR, "domain": Kind.ACCEPTED_DOMAIN}
    return [ObservedObject.of(kinds[k], v) for k, v in base.items()]


def by_kind(plan):  # type: ignore[no-untyped-def]
    return {c.kind: c for c in plan.changes if c.action is not Action.UNDECLARED}


def test_empty_live_state_creates_everything_in_dependency_order() -> None:
    plan = plan_mailflow(SPEC, [])
    assert [(c.action, c.cmdlet) for c in plan.changes] == [
        (Action.CREATE, "New-AcceptedDomain"), (Action.CREATE, "New-InboundConnector"),
        (Action.CREATE, "New-SendConnector"),
    ]
    assert plan.changes[0].parameters[:2] == (("Name", "fabrikam.com"), ("DomainName", "fabrikam.com"))


def test_matching_live_state_is_unchanged_despite_exchange_spellings() -> None:
    plan = plan_mailflow(SPEC, observed())
    assert not plan.has_changes
    assert {c.action for c in plan.changes} == {Action.UNCHANGED}


@pytest.mark.parametrize(
    ("overrides", "kind", "prop", "live", "wanted"),
    [
        ({"send": {"RequireTLS": False}}, Kind.SEND_CONNECTOR, "RequireTLS", False, True),
        ({"send": {"SmartHosts": ["old.example.com"]}}, Kind.SEND_CONNECTOR, "SmartHosts", ["old.example.com"],
         ["contoso-com.mail.protection.outlook.com"]),
        ({"send": {"TlsAuthLevel": None}}, Kind.SEND_CONNECTOR, "TlsAuthLevel", None, "CertificateValidation"),
        ({"inbound": {"SenderIPAddresses": ["203.0.113.26"]}}, Kind.INBOUND_CONNECTOR, "SenderIPAddresses",
         ["203.0.113.26"], ["203.0.113.25"]),
        ({"inbound": {"ConnectorType": "Partner"}}, Kind.INBOUND_CONNECTOR, "ConnectorType", "Partner", "OnPremises"),
        ({"domain": {"DomainType": "Authoritative"}}, Kind.ACCEPTED_DOMAIN, "DomainType", "Authoritative",
         "InternalRelay"),
    ],
)
def test_drift_becomes_a_set_with_only_the_changed_property(overrides, kind, prop, live, wanted) -> None:  # type: ignore[no-untyped-def]
    plan = plan_mailflow(SPEC, observed(**overrides))
    changes = by_kind(plan)
    change = changes[kind]
    assert change.action is Action.UPDATE
    assert [(p.name, p.live, p.wanted) for p in change.properties] == [(prop, live, wanted)]
    assert change.parameters[0][0] == "Identity" and change.parameters[1] == (prop, wanted)
    assert change.cmdlet.startswith("Set-")
    assert all(c.action is Action.UNCHANGED for k, c in changes.items() if k is not kind)


def test_accepted_domain_matched_by_domain_name_keeps_its_live_name() -> None:
    plan = plan_mailflow(SPEC, observed(domain={"DomainType": "ExternalRelay"}))
    change = by_kind(plan)[Kind.ACCEPTED_DOMAIN]
    assert change.parameters == (("Identity", "Fabrikam"), ("DomainType", "InternalRelay"))


def test_values_compared_as_exchange_stores_them() -> None:
    equal = observed(send={"AddressSpaces": ["smtp:*;1"], "SmartHosts": ["CONTOSO-COM.mail.protection.outlook.com"]},
                     inbound={"SenderIPAddresses": "203.0.113.25", "SenderDomains": ["*"],
                              "RestrictDomainsToIPAddresses": "True"})
    assert not plan_mailflow(SPEC, equal).has_changes


def test_undeclared_objects_are_listed_not_touched() -> None:
    extra = ObservedObject.of(Kind.OUTBOUND_CONNECTOR, {"Name": "Outbound to 1234"})
    plan = plan_mailflow(SPEC, [*observed(), extra])
    undeclared = [c for c in plan.changes if c.action is Action.UNDECLARED]
    assert [(c.kind, c.name, c.cmdlet) for c in undeclared] == [(Kind.OUTBOUND_CONNECTOR, "Outbound to 1234", "")]
    assert not plan.has_changes


def test_partial_state_mixes_create_and_unchanged() -> None:
    plan = plan_mailflow(SPEC, observed(send=None))
    assert [c.action for c in plan.changes] == [Action.UNCHANGED, Action.UNCHANGED, Action.CREATE]
    assert plan.actionable[0].kind is Kind.SEND_CONNECTOR


def test_fingerprint_tracks_observed_state_and_keys_are_stable() -> None:
    assert fingerprint(observed()) == fingerprint(list(reversed(observed())))
    assert fingerprint(observed()) != fingerprint(observed(send={"RequireTLS": False}))
    first = plan_mailflow(SPEC, observed(send=None)).actionable[0]
    again = plan_mailflow(SPEC, observed(send=None)).actionable[0]
    assert first.key == again.key


def test_rename_is_an_update() -> None:
    spec = parse_spec('[[onprem.accepted_domain]]\nName = "Fabrikam Relay"\nDomainName = "fabrikam.com"\n'
                      'DomainType = "InternalRelay"\n')
    change = plan_mailflow(spec, observed()).changes[0]
    assert change.action is Action.UPDATE
    assert change.parameters == (("Identity", "Fabrikam"), ("Name", "Fabrikam Relay"))


def test_plan_module_is_pure() -> None:
    import ast

    import hybridkit.mailflow._model as model
    import hybridkit.mailflow._plan as plan

    for module in (plan, model):
        tree = ast.parse(open(module.__file__, encoding="utf-8").read())
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        for name in imported:
            assert not name.startswith(("hybridkit.ps", "pypsrp", "sqlite3", "rich", "hybridkit.journal")), name
