"""Batch planning at scale: 100,000 mailboxes, 1,000,000 permission rows, as CSV and as XLSX.

Prints the time to only load the inputs (our CSV path and python-calamine for the workbook), the time to plan,
the peak memory (ru_maxrss of the measuring process; files are generated in a child process), and a FastTrack-style
repeated-scan grouping on 5,000 mailboxes beside ours, with the ratio.

    python bench/plan_scale.py [--mailboxes 100000] [--rows 1000000] [--cache DIR] [--no-xlsx]

Generated files are cached in DIR (default: $TMPDIR/hybridkit-plan-scale) and reused by later runs.
Target on a 2-core machine: planning at most 2x the (fastest) load time, under 60 s and 4 GB.
"""

from __future__ import annotations

import argparse
import csv
import gc
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Heidi", "Judy", "Mallory", "Niaj", "Olivia", "Rupert",
         "Sybil", "Trent", "Victor", "Walter", "Zoe", "Chloe", "Jose", "Soren"]  # fmt: skip
LAST = ["Smith", "Jones", "Taylor", "Brown", "Walker", "Young", "Garcia", "Martin", "Lee", "Hall", "Evans",
        "Davies", "Wilson", "Thomas", "Roberts", "Nguyen", "Kowalski", "Muller", "OBrien", "Nunez"]  # fmt: skip
DEPTS = ["Sales", "Finance", "HR", "IT", "Engineering", "Marketing", "Operations", "Research", "Support", "Legal"]
KINDS = ("mailboxes", "sizes", "fullaccess", "sendas", "sendonbehalf", "calendar")
HEADERS = {
    "mailboxes": ["DisplayName", "Alias", "PrimarySmtpAddress", "UserPrincipalName", "SamAccountName",
                  "RecipientTypeDetails", "Identity", "Database"],
    "sizes": ["DisplayName", "PrimarySmtpAddress", "TotalItemSize", "ItemCount"],
    "fullaccess": ["Identity", "User", "AccessRights", "IsInherited", "Deny"],
    "sendas": ["Identity", "User", "ExtendedRights", "IsInherited", "Deny"],
    "sendonbehalf": ["PrimarySmtpAddress", "GrantSendOnBehalfTo"],
    "calendar": ["Mailbox", "FolderName", "User", "AccessRights"],
}  # fmt: skip


def generate(n: int, rows: int, seed: int = 7) -> dict[str, list[list[str]]]:
    """A synthetic org: departments of teams of 20, each with a shared mailbox (members FullAccess, five SendAs),
    a manager whose assistant has calendar delegation and SendOnBehalf, same-department FullAccess and calendar
    sharing, rare cross-department delegation, and a backup service account with FullAccess to every mailbox.
    Permission rows include SELF, inherited and Default/Anonymous entries, and total exactly ``rows``."""
    rng = random.Random(seed)
    out: dict[str, list[list[str]]] = {k: [] for k in KINDS}
    smtp, sam, canon, display, dept_of = [], [], [], [], []
    for i in range(n):
        dept = DEPTS[(i // 1000) % len(DEPTS)]
        shared = i % 20 == 19
        if shared:
            name = f"{dept} Team {i // 20}"
            alias = f"{dept.lower()}.team{i // 20}"
            path = f"contoso.com/Corp/{dept}/Shared/{name}"
        else:
            f, l, mid = FIRST[i % 20], LAST[(i // 20) % 20], chr(65 + (i // 400) % 26)
            name = f"{f} {mid}. {l} {i}"
            alias = f"{f.lower()}.{mid.lower()}.{l.lower()}{i}"
            path = f"contoso.com/Corp/{dept}/Users/{name}"
        s = f"{alias}@contoso.com"
        sa = alias.replace(".", "")[:20]
        smtp.append(s), sam.append(sa), canon.append(path), display.append(name), dept_of.append(i // 1000)
        out["mailboxes"].append([name, alias, s, f"{alias}@corp.contoso.com", sa,
                                 "SharedMailbox" if shared else "UserMailbox", path, f"DB{i % 16:02d}"])  # fmt: skip
        size = int(rng.lognormvariate(21.5, 1.2))
        out["sizes"].append([name, s, f"{size / 1024**3:.3f} GB ({size:,} bytes)", str(size // 70000)])
    fa, sas, sob, cal = out["fullaccess"], out["sendas"], out["sendonbehalf"], out["calendar"]
    for i in range(n):
        fa.append([canon[i], "NT AUTHORITY\\SELF", "FullAccess, ReadPermission", "False", "False"])
        fa.append([canon[i], "CONTOSO\\Domain Admins", "FullAccess", "True", "True"])
        fa.append([canon[i], "CONTOSO\\svc-backup", "FullAccess", "False", "False"])
        cal.append([smtp[i], "Calendar", "Default", "AvailabilityOnly"])
        cal.append([smtp[i], "Calendar", "Anonymous", "None"])
    for team_start in range(0, n - 19, 20):
        shared, manager, assistant = team_start + 19, team_start, team_start + 1
        for member in range(team_start, team_start + 19):
            fa.append([canon[shared], f"CONTOSO\\{sam[member]}", "FullAccess", "False", "False"])
        for member in range(team_start, team_start + 5):
            sas.append([canon[shared], f"CONTOSO\\{sam[member]}", "Send-As", "False", "False"])
        cal.append([smtp[manager], "Calendar", display[assistant], "Editor"])
        sob.append([smtp[manager], f"{canon[assistant]};{canon[team_start + 2]}"])
    total = sum(len(out[k]) for k in KINDS[2:])
    while total < rows:
        a = rng.randrange(n)
        pick = rng.random()
        team = a - a % 20
        dept = dept_of[a] * 1000
        if pick < 0.55:  # FullAccess to someone in the department (soft)
            b = min(n - 1, dept + rng.randrange(1000))
            row, sheet = [canon[a], f"CONTOSO\\{sam[b]}", "FullAccess", "False", "False"], fa
        elif pick < 0.95:  # calendar sharing inside the team (hard)
            b = min(n - 1, team + rng.randrange(20))
            row, sheet = [smtp[a], "Calendar", display[b], "Reviewer"], cal
        elif pick < 0.9995:  # calendar delegation across teams of the department (hard)
            b = min(n - 1, dept + rng.randrange(1000))
            row, sheet = [smtp[a], "Calendar", display[b], "Editor"], cal
        else:  # rare delegation across departments (hard)
            b = rng.randrange(n)
            row, sheet = [smtp[a], "Calendar", display[b], "Editor"], cal
        if a != b:
            sheet.append(row)
            total += 1
    return out


def write_csv(path: Path, header: list[str], rows: list[list[str]], type_line: str | None = None) -> None:
    """As Windows PowerShell's Export-Csv -Encoding UTF8 writes: BOM, optional #TYPE line, all quoted, CRLF."""
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        if type_line:
            handle.write(f"#TYPE {type_line}\r\n")
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_book(path: Path, data: dict[str, list[list[str]]]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    for kind in KINDS:
        sheet = book.add_worksheet(kind)
        sheet.write_row(0, 0, HEADERS[kind])
        for r, row in enumerate(data[kind], start=1):
            sheet.write_row(r, 0, row)
    book.close()


def _generate_into(folder: Path, n: int, rows: int, xlsx: bool) -> None:
    data = generate(n, rows)
    folder.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        write_csv(folder / f"{kind}.csv", HEADERS[kind], data[kind], "Selected.Export" if kind != "sizes" else None)
    if xlsx:
        write_book(folder / "org.xlsx", data)
    (folder / "done").write_text("ok")


def _ensure(cache: Path, n: int, rows: int, xlsx: bool) -> Path:
    folder = cache / f"org-{n}-{rows}"
    if not (folder / "done").exists() or (xlsx and not (folder / "org.xlsx").exists()):
        t = time.perf_counter()
        print(f"generating {n:,} mailboxes / {rows:,} permission rows into {folder} ...", flush=True)
        subprocess.run([sys.executable, __file__, "--generate-into", str(folder), "--mailboxes", str(n),
                        "--rows", str(rows)] + ([] if xlsx else ["--no-xlsx"]), check=True)  # fmt: skip
        print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    return folder


def fasttrack_find_links(rows: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """A Python port of FastTrack's Find-Links grouping (Find-MailboxDelegates.ps1): rows grouped by mailbox;
    a batch starts from the first remaining mailbox and absorbs every mailbox whose rows share a mailbox or
    delegate with the batch's rows (PowerShell ``-contains`` on arrays: linear scans), rescanning all remaining
    mailboxes until a pass adds nothing. No size cap."""
    remaining: dict[int, list[tuple[int, int]]] = {}
    for mailbox, user in rows:
        remaining.setdefault(mailbox, []).append((mailbox, user))
    batches = []
    while remaining:
        first = next(iter(remaining))
        batch = list(remaining[first])
        while True:
            changed = False
            users_b, delegates_b = [r[0] for r in batch], [r[1] for r in batch]
            for key in list(remaining):
                users_h, delegates_h = [r[0] for r in remaining[key]], [r[1] for r in remaining[key]]
                if (any(x in users_b for x in users_h) or any(x in delegates_b for x in delegates_h)
                        or any(x in delegates_b for x in users_h) or any(x in users_b for x in delegates_h)):
                    if key != first:
                        batch += remaining[key]
                        users_b, delegates_b = [r[0] for r in batch], [r[1] for r in batch]
                        changed = True
                    del remaining[key]
            if not changed:
                break
        batches.append(batch)
    return batches


def _csvs(folder: Path) -> list[Path]:
    return [folder / f"{kind}.csv" for kind in KINDS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "hybridkit-plan-scale")
    parser.add_argument("--no-xlsx", action="store_true")
    parser.add_argument("--generate-into", type=Path)
    args = parser.parse_args()
    if args.generate_into:
        _generate_into(args.generate_into, args.mailboxes, args.rows, not args.no_xlsx)
        return

    from hybridkit.batches import PlanOptions, load_inputs, plan_batches
    from hybridkit.batches._identity import build_directory
    from hybridkit.batches._links import collect_links

    big = _ensure(args.cache, args.mailboxes, args.rows, not args.no_xlsx)
    small = _ensure(args.cache, 5_000, 50_000, False)
    options = PlanOptions(max_mailboxes=500, max_gb=2000)

    t, c = time.perf_counter(), time.process_time()
    inputs = load_inputs(_csvs(big))
    load_csv, load_cpu = time.perf_counter() - t, time.process_time() - c
    rows = sum(len(tb) for tb in inputs.tables if tb.kind.value not in ("mailboxes", "sizes"))
    print(f"load CSV  ({sum(p.stat().st_size for p in _csvs(big)) / 1e6:.0f} MB, {rows:,} permission rows): "
          f"{load_csv:6.2f} s  (cpu {load_cpu:.2f} s)")  # fmt: skip
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    plan = plan_batches(inputs, options)
    plan_time, plan_cpu = time.perf_counter() - t, time.process_time() - c
    s = plan.summary
    print(f"plan:                                       {plan_time:6.2f} s  (cpu {plan_cpu:.2f} s)")
    print(f"  -> {s['batches']} batches, links hard {s['links']['hard']:,} soft {s['links']['soft']:,}, crossing hard "
          f"{s['cross_batch_links']['hard']:,} soft {s['cross_batch_links']['soft']:,}, "
          f"super-connectors {s['excluded_trustees']}, largest group {s['largest_group']:,}")  # fmt: skip
    del plan, inputs
    gc.collect()
    if not args.no_xlsx:
        t, c = time.perf_counter(), time.process_time()
        book_inputs = load_inputs([big / "org.xlsx"])
        load_xlsx, xlsx_cpu = time.perf_counter() - t, time.process_time() - c
        print(f"load XLSX ({(big / 'org.xlsx').stat().st_size / 1e6:.0f} MB, python-calamine):          "
              f"{load_xlsx:6.2f} s  (cpu {xlsx_cpu:.2f} s)")  # fmt: skip
        del book_inputs
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {peak_mb:,.0f} MB")
    ratio, cpu_ratio = plan_time / load_csv, plan_cpu / load_cpu
    verdict = "OK" if ratio <= 2 and plan_time < 60 and peak_mb < 4096 else "MISSED"
    print(f"plan / fastest load = {ratio:.2f} wall, {cpu_ratio:.2f} cpu (target <= 2), plan < 60 s, "
          f"memory < 4 GB: {verdict}")

    # FastTrack's README advises leaving FullAccess out (it works across premises): compare on that collection
    small_inputs = load_inputs([p for p in _csvs(small) if p.stem != "fullaccess"])
    t = time.perf_counter()
    ours = plan_batches(small_inputs, options)
    ours_time = time.perf_counter() - t
    problems: list = []
    directory = build_directory(list(small_inputs.tables), problems)
    links = collect_links(list(small_inputs.tables), directory, problems)
    super_connectors = {e.trustee for e in ours.excluded_trustees}
    excluded = {i for i, mb in enumerate(directory.mailboxes) if mb.address in super_connectors}
    pairs = [(m, tr) for m, tr in zip(links.mailbox, links.trustee) if tr >= 0 and tr not in excluded and m != tr]
    t = time.perf_counter()
    scan = fasttrack_find_links(pairs)
    scan_time = time.perf_counter() - t
    print(f"5,000 mailboxes without FullAccess: ours (full capped plan) {ours_time:.3f} s, "
          f"{len(ours.batches)} batches; "
          f"FastTrack Find-Links port (grouping only, same links, uncapped) {scan_time:.2f} s, {len(scan)} groups; "
          f"ratio {scan_time / ours_time:.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
