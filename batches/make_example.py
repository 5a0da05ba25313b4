"""Regenerate the example inventory in this folder (CSV files and example.xlsx). Deterministic.

    python batches/make_example.py
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEOPLE = [
    ("Alice", "Smith", "Sales"), ("Bob", "Jones", "Sales"), ("Carol", "Taylor", "Sales"), ("Dan", "Brown", "Sales"),
    ("Erin", "Walker", "Sales"), ("Frank", "Young", "Sales"), ("Heidi", "Garcia", "Sales"), ("Judy", "Martin", "Sales"),
    ("Mallory", "Lee", "Sales"), ("Niaj", "Hall", "Sales"), ("Olivia", "Evans", "Finance"),
    ("Rupert", "Davies", "Finance"), ("Sybil", "Wilson", "Finance"), ("Trent", "Thomas", "Finance"),
    ("Victor", "Roberts", "Finance"), ("Walter", "Nguyen", "Finance"), ("Zoe", "Kowalski", "Finance"),
    ("Chloé", "Müller", "Finance"), ("José", "Núñez", "Finance"), ("Søren", "O'Brien", "Finance"),
    ("Grace", "Hopper", "IT"), ("Ada", "Lovelace", "IT"), ("Alan", "Turing", "IT"), ("Linus", "Torvalds", "IT"),
    ("Ken", "Thompson", "IT"), ("Dennis", "Ritchie", "IT"), ("Barbara", "Liskov", "IT"), ("Edsger", "Dijkstra", "IT"),
    ("Donald", "Knuth", "IT"), ("Tony", "Hoare", "IT"), ("Margaret", "Hamilton", "Executive"),
    ("Katherine", "Johnson", "Executive"), ("Hedy", "Lamarr", "Executive"), ("Claude", "Shannon", "Executive"),
    ("John", "Backus", "HR"), ("Frances", "Allen", "HR"), ("Jean", "Sammet", "HR"), ("Radia", "Perlman", "HR"),
    ("Leslie", "Lamport", "HR"), ("Niklaus", "Wirth", "HR"), ("Bjarne", "Stroustrup", "HR"),
    ("Guido", "Rossum", "Legal"), ("James", "Gosling", "Legal"), ("Anders", "Hejlsberg", "Legal"),
    ("Brian", "Kernighan", "Legal"), ("Rob", "Pike", "Legal"), ("Robert", "Griesemer", "Legal"),
    ("Yukihiro", "Matsumoto", "Legal"), ("Larry", "Wall", "Legal"), ("Rasmus", "Lerdorf", "Legal"),
]  # fmt: skip
SHARED = [("Sales Team", "Sales"), ("Finance Team", "Finance"), ("IT Helpdesk", "IT"),
          ("Board Office", "Executive"), ("HR Team", "HR"), ("Legal Team", "Legal")]  # fmt: skip
PINNED = {"margaret.hamilton": "Wave-1", "katherine.johnson": "Wave-1"}


def _ascii(text: str) -> str:
    return text.translate(str.maketrans("éüúñøÉÜÚÑØ'", "euunoEUUNO_")).replace("_", "")


def build() -> dict[str, tuple[list[str], list[list[str]]]]:
    mailboxes, sizes = [], []
    who: dict[str, dict[str, str]] = {}
    for i, (first, last, dept) in enumerate(PEOPLE):
        alias = f"{_ascii(first).lower()}.{_ascii(last).lower()}"
        smtp = f"{alias}@contoso.com"
        record = {"display": f"{first} {last}", "alias": alias, "smtp": smtp, "sam": alias.replace(".", "")[:20],
                  "canon": f"contoso.com/Corp/{dept}/Users/{first} {last}", "dept": dept, "type": "UserMailbox"}
        who[alias] = record
        size = 300_000_000 + (i * 7_919_117_071) % 9_000_000_000
        sizes.append([record["display"], smtp, f"{size / 1024**3:.3f} GB ({size:,} bytes)", str(size // 70_000)])
    for name, dept in SHARED:
        alias = name.lower().replace(" ", ".")
        who[alias] = {"display": name, "alias": alias, "smtp": f"{alias}@contoso.com", "sam": alias.replace(".", ""),
                      "canon": f"contoso.com/Corp/{dept}/Shared/{name}", "dept": dept, "type": "SharedMailbox"}
        sizes.append([name, f"{alias}@contoso.com", "2.5 GB (2,684,354,560 bytes)", "31000"])
    for r in who.values():
        # mixed case, as PowerShell shows addresses people typed
        shown = r["smtp"].title() if r["dept"] == "Legal" else r["smtp"]
        mailboxes.append([r["display"], r["alias"], shown, f"{r['alias']}@corp.contoso.com", r["sam"], r["type"],
                          r["canon"], f"DB0{len(mailboxes) % 4 + 1}", r["dept"], PINNED.get(r["alias"], "")])
    # a group, as a Get-Recipient export lists it: never a batch member, reported as a group when it is a trustee
    mailboxes.append(["Legal Readers", "legal.readers", "legal.readers@contoso.com", "", "legalreaders",
                      "MailUniversalSecurityGroup", "contoso.com/Corp/Legal/Groups/Legal Readers", "", "Legal", ""])
    fa, sa, sob, cal = [], [], [], []
    for r in who.values():
        fa.append([r["canon"], "NT AUTHORITY\\SELF", "FullAccess, ReadPermission", "False", "False"])
        fa.append([r["canon"], "CONTOSO\\Domain Admins", "FullAccess", "True", "True"])
        fa.append([r["canon"], "CONTOSO\\svc-backup", "FullAccess", "False", "False"])
        cal.append([r["smtp"], "Calendar", "Default", "AvailabilityOnly"])
        cal.append([r["smtp"], "Calendar", "Anonymous", "None"])
    for name, dept in SHARED:
        shared = who[name.lower().replace(" ", ".")]
        members = [r for r in who.values() if r["dept"] == dept and r["type"] == "UserMailbox"]
        for m in members:
            fa.append([shared["canon"], f"CONTOSO\\{m['sam']}", "FullAccess", "False", "False"])
        for m in members[:3]:
            sa.append([shared["canon"], f"CONTOSO\\{m['sam']}", "Send-As", "False", "False"])
    # the assistant and her manager: calendar delegate (hard) and send on behalf (soft)
    boss, assistant = who["margaret.hamilton"], who["hedy.lamarr"]
    cal.append([boss["smtp"], "Calendar", assistant["display"], "Editor"])
    sob.append([boss["smtp"], f"{assistant['canon']};{who['claude.shannon']['canon']}"])
    # a few cross-department ties, an orphaned SID and a group
    cal.append([who["grace.hopper"]["smtp"], "Calendar", who["alice.smith"]["display"], "Reviewer"])
    fa.append([who["olivia.evans"]["canon"], "CONTOSO\\johnbackus", "FullAccess", "False", "False"])
    fa.append([who["bob.jones"]["canon"], "S-1-5-21-3623811015-3361044348-30300820-1013", "FullAccess", "False",
               "False"])  # fmt: skip
    sa.append([who["guido.rossum"]["canon"], "CONTOSO\\Legal Readers", "Send-As", "False", "False"])
    return {
        "mailboxes": (["DisplayName", "Alias", "PrimarySmtpAddress", "UserPrincipalName", "SamAccountName",
                       "RecipientTypeDetails", "Identity", "Database", "Department", "Wave"], mailboxes),
        "sizes": (["DisplayName", "PrimarySmtpAddress", "TotalItemSize", "ItemCount"], sizes),
        "fullaccess": (["Identity", "User", "AccessRights", "IsInherited", "Deny"], fa),
        "sendas": (["Identity", "User", "ExtendedRights", "IsInherited", "Deny"], sa),
        "sendonbehalf": (["PrimarySmtpAddress", "GrantSendOnBehalfTo"], sob),
        "calendar": (["Mailbox", "FolderName", "User", "AccessRights"], cal),
    }  # fmt: skip


def main() -> None:
    import xlsxwriter

    data = build()
    for kind, (header, rows) in data.items():
        with open(HERE / f"{kind}.csv", "w", encoding="utf-8-sig", newline="") as handle:
            if kind in ("mailboxes", "fullaccess", "sendas"):
                handle.write("#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n")
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(rows)
    book = xlsxwriter.Workbook(str(HERE / "example.xlsx"))
    bold = book.add_format({"bold": True})
    for kind, (header, rows) in data.items():
        sheet = book.add_worksheet(kind)
        sheet.write(0, 0, f"Contoso {kind} export (example)", bold)  # a title row above the header
        sheet.write_row(2, 0, header, bold)
        for r, row in enumerate(rows, start=3):
            sheet.write_row(r, 0, row)
    book.close()


if __name__ == "__main__":
    main()
