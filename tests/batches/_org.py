"""Small orgs for batch planning tests, written by writers other than our reader (csv module, xlsxwriter, openpyxl)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

MAILBOX_HEADER = ["DisplayName", "Alias", "PrimarySmtpAddress", "UserPrincipalName", "SamAccountName",
                  "RecipientTypeDetails", "Identity", "Database", "Wave"]  # fmt: skip


def person(name: str, wave: str = "", kind: str = "UserMailbox") -> list[str]:
    """An inventory row for ``name`` (e.g. "a1"): smtp a1@contoso.com, sam a1, canonical contoso.com/Corp/Users/A1."""
    return [name.upper(), name, f"{name}@contoso.com", f"{name}@corp.contoso.com", name, kind,
            f"contoso.com/Corp/Users/{name.upper()}", "DB01", wave]  # fmt: skip


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",", type_line: bool = True) -> str:
    """Export-Csv style text: optional #TYPE line, every value quoted, CRLF."""
    buffer = io.StringIO()
    if type_line:
        buffer.write("#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], *, encoding: str = "utf-8-sig",
              delimiter: str = ",", type_line: bool = True) -> Path:  # fmt: skip
    path.write_bytes(csv_text(header, rows, delimiter, type_line).encode(encoding))
    return path


def inventory(path: Path, names: Sequence[str], waves: dict[str, str] | None = None) -> Path:
    waves = waves or {}
    return write_csv(path, MAILBOX_HEADER, [person(n, waves.get(n, "")) for n in names])


def fullaccess(path: Path, pairs: Sequence[tuple[str, str]]) -> Path:
    """FullAccess rows (mailbox, trustee) as Get-MailboxPermission writes them: canonical name, DOMAIN\\sam."""
    rows = [[f"contoso.com/Corp/Users/{m.upper()}", f"CONTOSO\\{t}", "FullAccess", "False", "False"] for m, t in pairs]
    return write_csv(path, ["Identity", "User", "AccessRights", "IsInherited", "Deny"], rows)


def sendas(path: Path, pairs: Sequence[tuple[str, str]]) -> Path:
    rows = [[f"contoso.com/Corp/Users/{m.upper()}", f"CONTOSO\\{t}", "Send-As", "False", "False"] for m, t in pairs]
    return write_csv(path, ["Identity", "User", "ExtendedRights", "IsInherited", "Deny"], rows)


def crossings(plan_json: dict) -> tuple[int, int]:
    """(hard, soft) crossing links of a plan.json document."""
    links = plan_json["cross_batch_links"]
    return sum(c["strength"] == "hard" for c in links), sum(c["strength"] == "soft" for c in links)
