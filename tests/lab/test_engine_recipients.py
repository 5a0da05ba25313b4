"""Recipient and organisation reads through the engine: identities, ResultSize, filters, object shapes."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from hybridkit.lab.exchange.cmdlets.recipients import MORE_RESULTS_WARNING, RESULT_SIZE_WARNING
from hybridkit.lab.exchange.engine import ExchangeEngine
from tests.lab._engine_kit import cmd, online, onprem, run

SIZE = re.compile(r"^\d+(\.\d+)? (B|KB|MB|GB|TB) \(\d{1,3}(,\d{3})* bytes\)$")


@pytest.fixture(scope="module")
def engine() -> ExchangeEngine:
    return ExchangeEngine.create("demo", time_scale=0.0, raise_internal_errors=True)


@pytest.fixture(scope="module")
def big() -> ExchangeEngine:
    return ExchangeEngine.create("synthetic:1500", time_scale=0.0, raise_internal_errors=True)


def a_user(engine: ExchangeEngine) -> dict:
    return next(r for r in engine.org.onprem.recipients.values()
                if r["RecipientTypeDetails"] == "UserMailbox" and r.get("Department") == "Finance")


def test_result_size_default_is_1000_with_exchange_warning(big: ExchangeEngine) -> None:
    res = run(big, onprem(), cmd("Get-Mailbox"))
    assert len(res.out) == 1000
    assert res.warnings == [RESULT_SIZE_WARNING]
    assert RESULT_SIZE_WARNING.startswith("By default, only the first 1000 items are returned.")
    assert 'specify "-ResultSize Unlimited"' in RESULT_SIZE_WARNING
    everything = run(big, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited"))
    assert len(everything.out) == 1500 and everything.warnings == []
    ten = run(big, onprem(), cmd("Get-Mailbox", ResultSize=10))
    assert len(ten.out) == 10 and ten.warnings == [MORE_RESULTS_WARNING]
    exact = run(big, onprem(), cmd("Get-Mailbox", ResultSize=1500))
    assert len(exact.out) == 1500 and exact.warnings == []


def test_recipient_type_details_and_filters(engine: ExchangeEngine) -> None:
    shared = run(engine, onprem(), cmd("Get-Mailbox", RecipientTypeDetails="SharedMailbox", ResultSize="Unlimited"))
    assert shared.out and {o.get("RecipientTypeDetails") for o in shared.out} == {"SharedMailbox"}
    rooms = run(engine, onprem(), cmd("Get-Mailbox", RecipientTypeDetails=["RoomMailbox", "EquipmentMailbox"]))
    assert {o.get("RecipientTypeDetails") for o in rooms.out} == {"RoomMailbox", "EquipmentMailbox"}
    by_filter = run(engine, onprem(), cmd("Get-Mailbox", Filter="RecipientTypeDetails -eq 'SharedMailbox'",
                                          ResultSize="Unlimited"))
    assert by_filter.names() == shared.names()
    sales = run(engine, onprem(), cmd("Get-Recipient", ResultSize="Unlimited",
                                      Filter="Department -eq 'Sales' -and RecipientTypeDetails -ne 'SharedMailbox'"))
    assert sales.out and all(o.get("Department") == "Sales" for o in sales.out)
    assert all(o.get("RecipientTypeDetails") != "SharedMailbox" for o in sales.out)
    like = run(engine, onprem(), cmd("Get-Mailbox", Filter="{Name -like 'Room *'}"))
    assert like.out and all(o.get("Name").startswith("Room ") for o in like.out)
    either = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited",
                                       Filter="(Office -eq 'Berlin') -or (Office -eq 'Paris')"))
    assert either.out and {o.get("Office") for o in either.out} == {"Berlin", "Paris"}
    addr = a_user(engine)["PrimarySmtpAddress"]
    proxy = run(engine, onprem(), cmd("Get-Mailbox", Filter=f"EmailAddresses -eq 'SMTP:{addr}'"))
    assert proxy.names("PrimarySmtpAddress") == [addr]
    bools = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited", Filter="IsShared -eq $true"))
    assert len(bools.out) == len(shared.out)


def test_bad_filters_fail_with_exchange_messages(engine: ExchangeEngine) -> None:
    res = run(engine, onprem(), cmd("Get-Mailbox", Filter="Name -eq"))
    assert res.failed is not None
    assert res.failed.message.startswith("Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": "
                                         "\"Invalid filter syntax.")
    res = run(engine, onprem(), cmd("Get-Mailbox", Filter="Colour -eq 'blue'"))
    assert res.failed is not None
    assert '"Colour" is not a recognized filterable property' in res.failed.message
    assert res.failed.message.endswith("\"Colour -eq 'blue'\" at position 1.\"")


def test_identity_forms_resolve_like_exchange(engine: ExchangeEngine) -> None:
    rec = a_user(engine)
    forms = [rec["Alias"], rec["Name"], rec["PrimarySmtpAddress"].upper(), "smtp:" + rec["PrimarySmtpAddress"],
             rec["Identity"], rec["DistinguishedName"], f"CONTOSO\\{rec['SamAccountName']}", rec["Guid"],
             rec["ExchangeGuid"], rec["LegacyExchangeDN"], rec["UserPrincipalName"], rec["EmailAddresses"][1][5:]]
    for form in forms:
        res = run(engine, onprem(), cmd("Get-Mailbox", Identity=form))
        assert [str(o.get("Guid")) for o in res.out] == [rec["Guid"]], form
        assert res.errors == []
    wild = run(engine, onprem(), cmd("Get-Mailbox", Identity="Room London*"))
    assert sorted(wild.names()) == ["Room London 1", "Room London 2"]


def test_ambiguous_identity(engine: ExchangeEngine) -> None:
    shared_kind = run(engine, onprem(), cmd("Get-Mailbox", "Sales Team 1")).out
    assert len(shared_kind) == 1
    recs = list(engine.org.onprem.recipients.values())
    twin = dict(recs[0])
    twin_guid = str(uuid.uuid4())
    twin.update(Guid=twin_guid, Alias="twin.alias", PrimarySmtpAddress="twin@contoso.com", EmailAddresses=[],
                Identity=recs[0]["Identity"] + "2", ExchangeGuid=str(uuid.uuid4()))
    engine.org.onprem.recipients[twin_guid] = twin
    try:
        res = run(engine, onprem(), cmd("Get-Mailbox", Identity=recs[0]["Name"]))
        assert res.out == []
        assert res.errors[0].message == f"The operation couldn't be performed because '{recs[0]['Name']}' matches multiple entries."
        assert "ManagementObjectAmbiguousException" in res.errors[0].fully_qualified_error_id
    finally:
        del engine.org.onprem.recipients[twin_guid]


def test_system_mailboxes_only_on_request(engine: ExchangeEngine) -> None:
    default = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited"))
    kinds = {o.get("RecipientTypeDetails") for o in default.out}
    assert "ArbitrationMailbox" not in kinds and "MonitoringMailbox" not in kinds and "DiscoveryMailbox" in kinds
    arbitration = run(engine, onprem(), cmd("Get-Mailbox", Arbitration=True))
    assert arbitration.out and {o.get("RecipientTypeDetails") for o in arbitration.out} == {"ArbitrationMailbox"}
    assert any(n.startswith("SystemMailbox{") for n in arbitration.names())
    monitoring = run(engine, onprem(), cmd("Get-Mailbox", Monitoring=True))
    assert {o.get("RecipientTypeDetails") for o in monitoring.out} == {"MonitoringMailbox"}
    hidden = arbitration.names()[0]
    assert run(engine, onprem(), cmd("Get-Mailbox", Identity=hidden)).errors  # not without -Arbitration


def test_mailbox_object_shape(engine: ExchangeEngine) -> None:
    rec = a_user(engine)
    obj = run(engine, onprem(), cmd("Get-Mailbox", Identity=rec["Alias"])).out[0]
    assert obj.type_names[:2] == ["Microsoft.Exchange.Data.Directory.Management.Mailbox",
                                  "Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson"]
    assert obj.type_names[-1] == "System.Object"
    assert isinstance(obj.get("Guid"), uuid.UUID) and isinstance(obj.get("ExchangeGuid"), uuid.UUID)
    assert isinstance(obj.get("WhenCreated"), dt.datetime) and obj.get("WhenCreated").tzinfo is not None
    assert isinstance(obj.get("EmailAddresses"), list) and obj.get("EmailAddresses")[0] == "SMTP:" + rec["PrimarySmtpAddress"]
    assert obj.get("Identity") == rec["Identity"] and obj.to_string == rec["Identity"]
    assert obj.get("Database") == rec["Database"]
    assert SIZE.match(obj.get("RecoverableItemsQuota"))
    assert obj.get("ProhibitSendQuota") == "Unlimited" and obj.get("UseDatabaseQuotaDefaults") is True
    head = next(r for r in engine.org.onprem.recipients.values() if r.get("Title") == "Head of Finance")
    head_obj = run(engine, onprem(), cmd("Get-Mailbox", Identity=head["Guid"])).out[0]
    assistant = engine.org.onprem.recipients[head["GrantSendOnBehalfTo"][0]]
    assert head_obj.get("GrantSendOnBehalfTo") == [assistant["Identity"]]


def test_get_recipient_user_mailuser_remote_mailbox(engine: ExchangeEngine) -> None:
    recipients = run(engine, onprem(), cmd("Get-Recipient", ResultSize="Unlimited"))
    kinds = {o.get("RecipientTypeDetails") for o in recipients.out}
    assert {"UserMailbox", "SharedMailbox", "RemoteUserMailbox", "MailUniversalSecurityGroup"} <= kinds
    assert "User" not in kinds and recipients.out[0].type_names[0].endswith(".ReducedRecipient")
    users = run(engine, onprem(), cmd("Get-User", Identity="svc-backup"))
    assert users.out[0].get("RecipientTypeDetails") == "User"
    assert users.out[0].type_names[0] == "Microsoft.Exchange.Data.Directory.Management.User"
    assert run(engine, onprem(), cmd("Get-User", RecipientTypeDetails="DisabledUser")).names() == ["Old Admin"]
    remote = run(engine, onprem(), cmd("Get-RemoteMailbox"))
    assert remote.out and all(o.get("RemoteRoutingAddress").endswith("@contoso.mail.onmicrosoft.com") for o in remote.out)
    session = online(engine)
    mail_users = run(engine, session, cmd("Get-MailUser", ResultSize="Unlimited"))
    assert len(mail_users.out) > 300
    first = mail_users.out[0]
    assert first.get("ExternalEmailAddress") == "SMTP:" + first.get("PrimarySmtpAddress")
    cloud = run(engine, session, cmd("Get-Mailbox", Identity=remote.out[0].get("PrimarySmtpAddress")))
    assert cloud.out and cloud.out[0].get("ExchangeGuid") == remote.out[0].get("ExchangeGuid")
    missing = run(engine, session, cmd("Get-Mailbox", Identity="ghost@contoso.com"))
    assert missing.errors[0].message.startswith("Ex")
    assert "|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be " \
           "performed because object 'ghost@contoso.com' couldn't be found on" in missing.errors[0].message


def test_org_reads(engine: ExchangeEngine) -> None:
    servers = run(engine, onprem(), cmd("Get-ExchangeServer"))
    assert servers.names() == ["EX01", "EX02"]
    assert servers.out[0].get("AdminDisplayVersion").startswith("Version 15.2")
    assert run(engine, onprem(), cmd("Get-ExchangeServer", "ex02")).names() == ["EX02"]
    missing = run(engine, onprem(), cmd("Get-ExchangeServer", Identity="EX09"))
    assert missing.errors[0].target == "EX09"
    plain = run(engine, onprem(), cmd("Get-MailboxDatabase"))
    assert len(plain.out) >= 4 and plain.out[0].get("Mounted") is None and plain.out[0].get("DatabaseSize") is None
    status = run(engine, onprem(), cmd("Get-MailboxDatabase", Status=True))
    assert status.out[0].get("Mounted") is True and SIZE.match(status.out[0].get("DatabaseSize"))
    # Every database has a copy on both DAG members, so -Server returns them all; an unknown server is an error.
    assert len(run(engine, onprem(), cmd("Get-MailboxDatabase", Server="EX02")).out) == len(plain.out)
    assert run(engine, onprem(), cmd("Get-MailboxDatabase", Server="EX09")).errors[0].target == "EX09"
    domains = run(engine, onprem(), cmd("Get-AcceptedDomain")).names("DomainName")
    assert domains == ["contoso.com", "contoso.mail.onmicrosoft.com"]
    config = run(engine, onprem(), cmd("Get-OrganizationConfig")).out
    assert len(config) == 1 and config[0].get("PublicFoldersEnabled") == "Local"
    session = online(engine)
    assert "contoso.onmicrosoft.com" in run(engine, session, cmd("Get-AcceptedDomain")).names("DomainName")
    assert run(engine, session, cmd("Get-ExchangeServer")).failed.fully_qualified_error_id == "CommandNotFoundException"


def test_version_selects_catalogue_and_build() -> None:
    old = ExchangeEngine.create("empty", version="2010", time_scale=0.0)
    assert run(old, onprem(), cmd("Get-ExchangeServer")).out[0].get("AdminDisplayVersion").startswith("Version 14.3")
    assert run(old, onprem(), cmd("Get-MigrationBatch")).failed.fully_qualified_error_id == "CommandNotFoundException"
    assert run(old, onprem(), cmd("Get-Mailbox")).out == []


def test_values_stored_by_set_handlers_show_in_get_output() -> None:
    engine = ExchangeEngine.create("demo", time_scale=0.0, raise_internal_errors=True)
    rec = a_user(engine)
    rec["CustomAttribute7"] = "Wave 3"
    rec["LitigationHoldDuration"] = 365
    rec["LitigationHoldDate"] = "2026-11-28T07:00:00+00:00"
    rec["SomethingNew"] = ["a", "b"]
    obj = run(engine, onprem(), cmd("Get-Mailbox", Identity=rec["Alias"])).out[0]
    assert obj.get("CustomAttribute7") == "Wave 3" and obj.get("CustomAttribute1") == ""  # Exchange sends <S></S>
    assert obj.get("LitigationHoldDuration") == "365.00:00:00"
    assert obj.get("LitigationHoldDate") == dt.datetime(2026, 11, 28, 7, tzinfo=dt.timezone.utc)
    assert "SomethingNew" not in obj.properties  # only the real type's properties are shown
    assert obj.get("MailboxPermissions") is None and obj.get("TotalItemSizeBytes") is None  # lab data stays inside


def test_filters_reach_directory_attributes_not_shown_on_mailboxes(engine: ExchangeEngine) -> None:
    res = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited", Filter="Department -eq 'Legal'"))
    legal = [r for r in engine.org.onprem.recipients.values()
             if r.get("Department") == "Legal" and r["RecipientTypeDetails"] in ("UserMailbox", "SharedMailbox")]
    assert res.out and sorted(str(o.get("Guid")) for o in res.out) == sorted(r["Guid"] for r in legal)
    titled = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited", Filter="Title -like 'Head of *'"))
    assert len(titled.out) >= 8
