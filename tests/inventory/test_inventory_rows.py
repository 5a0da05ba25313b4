"""Export rows from values of the kinds Exchange really sends (DateTime, Guid, lists, ADObjectIds), written byte for
byte as Windows PowerShell's ``Export-Csv -Encoding UTF8`` writes them (the shapes of shared/exchange/export-samples)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from hybridkit.inventory._model import Export, MailboxRef
from hybridkit.inventory._rows import fullaccess_rows, mailbox_ref, mailbox_row, sendonbehalf_row, size_row, text
from hybridkit.inventory._render import write_export
from hybridkit.ps import PSObject

GUID = uuid.UUID("3F2504E0-4F89-11D3-9A0C-0305E82C3301")


def _adobjectid(name: str) -> PSObject:
    """An ADObjectId as it comes back over remoting: an object whose ToString is the canonical name."""
    return PSObject(["Deserialized.Microsoft.Exchange.Data.Directory.ADObjectId"], {"Name": name.rsplit("/", 1)[-1]},
                    to_string=name)


def test_values_read_as_export_csv_writes_them() -> None:
    when = dt.datetime(2026, 12, 5, 7, 38, 5, tzinfo=dt.timezone.utc)
    assert text(when) == "12/5/2026 7:38:05 AM"  # .NET en-US DateTime.ToString(), not ISO
    assert text(dt.datetime(2026, 1, 2, 0, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == "1/1/2026 11:05:09 PM"
    assert text(dt.datetime(2026, 7, 4, 12, 0, 0, tzinfo=dt.timezone.utc)) == "7/4/2026 12:00:00 PM"
    assert text(GUID) == "3f2504e0-4f89-11d3-9a0c-0305e82c3301"  # Guid.ToString(): lower case "D"
    assert text(["FullAccess", "ReadPermission"]) == "FullAccess, ReadPermission"
    assert text(_adobjectid("contoso.com/Corp/Users/Ann Lee")) == "contoso.com/Corp/Users/Ann Lee"
    assert (text(True), text(False), text(None), text(1234)) == ("True", "False", "", "1234")


def test_typed_objects_make_the_same_files_as_the_samples(tmp_path: Path) -> None:
    mailbox = PSObject(["Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox"], {
        "DisplayName": "Søren W. Jones", "Alias": "soren.w.jones", "PrimarySmtpAddress": "soren.w.jones@contoso.com",
        "UserPrincipalName": "soren.w.jones@corp.contoso.com", "SamAccountName": "sorenwjones",
        "RecipientTypeDetails": "UserMailbox", "Identity": _adobjectid("contoso.com/Corp/HR/Users/Søren W. Jones"),
        "Database": _adobjectid("DB06"), "ExchangeGuid": GUID,
        "WhenCreated": dt.datetime(2024, 1, 8, 9, 0, tzinfo=dt.timezone.utc),
        "GrantSendOnBehalfTo": [_adobjectid("contoso.com/Corp/Sales/Users/Yolanda V. Jones"),
                                _adobjectid("contoso.com/Corp/Sales/Users/Walter Q. Hall")],
    })
    ref = mailbox_ref(mailbox, "onprem")
    assert ref.identity == "contoso.com/Corp/HR/Users/Søren W. Jones" and ref.exchange_guid == str(GUID)
    write_export(tmp_path, Export.MAILBOXES, [mailbox_row(mailbox)], "csv")
    assert (tmp_path / "mailboxes.csv").read_bytes() == (
        "\ufeff#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n"
        '"DisplayName","Alias","PrimarySmtpAddress","UserPrincipalName","SamAccountName","RecipientTypeDetails",'
        '"Identity","Database"\r\n'
        '"Søren W. Jones","soren.w.jones","soren.w.jones@contoso.com","soren.w.jones@corp.contoso.com","sorenwjones",'
        '"UserMailbox","contoso.com/Corp/HR/Users/Søren W. Jones","DB06"\r\n').encode("utf-8")
    assert sendonbehalf_row(mailbox) == {
        "PrimarySmtpAddress": "soren.w.jones@contoso.com",
        "GrantSendOnBehalfTo": "contoso.com/Corp/Sales/Users/Yolanda V. Jones;contoso.com/Corp/Sales/Users/Walter Q. Hall"}

    ace = PSObject(["Deserialized.Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject"], {
        "Identity": _adobjectid("contoso.com/Corp/Engineering/Users/Søren V. Evans"), "User": "NT AUTHORITY\\SELF",
        "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": False, "Deny": False})
    write_export(tmp_path, Export.FULLACCESS, fullaccess_rows([ace]), "csv")
    assert (tmp_path / "fullaccess.csv").read_bytes().decode("utf-8-sig").splitlines()[2] == (
        '"contoso.com/Corp/Engineering/Users/Søren V. Evans","NT AUTHORITY\\SELF","FullAccess, ReadPermission",'
        '"False","False"')

    stats = PSObject(["Deserialized.Microsoft.Exchange.Management.MapiTasks.Presentation.MailboxStatistics"], {
        "DisplayName": "Søren W. Jones", "TotalItemSize": "35.1 GB (37,688,569,064 bytes)", "ItemCount": 502514,
        "MailboxGuid": GUID, "LastLogonTime": dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)})
    row = size_row(MailboxRef("onprem", ref.identity, ref.primary_smtp, ref.display_name, ref.exchange_guid), stats)
    assert row == {"DisplayName": "Søren W. Jones", "PrimarySmtpAddress": "soren.w.jones@contoso.com",
                   "TotalItemSize": "35.1 GB (37,688,569,064 bytes)", "ItemCount": "502514"}
    assert text(stats.get("MailboxGuid")).lower() == ref.exchange_guid  # how sizes find their mailbox
