"""The batch planner: pure, deterministic, no IO.

Steps (each near-linear in mailboxes + permission rows):

1. index the inventory (:mod:`._identity`), read sizes, resolve every permission row (:mod:`._links`);
2. find super-connectors (trustees linked to more than ``super_connector_degree`` distinct mailboxes, resolved or
   not, plus ``exclude_trustees``) and drop their links;
3. union hard links into hard groups; a hard group over the caps (or holding two pinned waves) is split by
   :func:`._graph.partition` with hard links weighing far more than soft ones;
4. contract hard groups into super-nodes, union soft links into permission groups; a group over the caps is split
   the same way, so soft links are cut only where needed and hard links (almost) never;
5. pinned parts go to their wave; the rest are packed worst-fit-decreasing into the fewest bins the caps allow,
   which balances count and size; bins are named by their first address, so re-runs give the same names;
6. these bins are the completion waves; with ``sync_batches`` (or more than 100 waves) whole waves are packed
   into a few large sync batches (:mod:`._sync`), else each wave is its own migration batch.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import numpy as np

from hybridkit.batches._graph import HARD
from hybridkit.batches._group import group_mailboxes
from hybridkit.batches._identity import Directory, build_directory
from hybridkit.batches._links import RIGHTS, SENDAS, Links, collect_links
from hybridkit.batches._model import (
    BatchInputError,
    BatchPlan,
    CrossLink,
    ExcludedTrustee,
    Kind,
    Placement,
    PlanInputs,
    PlanOptions,
    Problem,
    SERVICE_BATCH_LIMIT,
    name_list,
)
from hybridkit.batches._sync import pack_sync_batches
from hybridkit.batches._read import MAILBOX_ID_COLUMNS, SIZE_COLUMNS
from hybridkit.tables import parse_size, unit_of_column
from hybridkit.errors import InputError

__all__ = ["check_options", "plan_batches", "validate_inputs"]


SOURCE_VERSIONS = {"2010": 2010, "2013": 2013, "2016": 2016, "2019": 2019, "SE": 2025}  # SE: Subscription Edition


def source_year(text: str) -> int:
    """``--source-version``: an on-prem Exchange version (``SE`` is Subscription Edition, after 2019)."""
    year = SOURCE_VERSIONS.get(text.strip().upper())
    if year is None:
        raise InputError(f"--source-version must be one of {', '.join(SOURCE_VERSIONS)}, not {text!r}")
    return year


def check_options(options: PlanOptions) -> None:
    """Refuse option values out of range, naming the option (``--max-gb nan`` and ``inf`` are not caps)."""
    if options.max_mailboxes is not None and options.max_mailboxes < 1:
        raise InputError(f"--max-mailboxes must be at least 1, not {options.max_mailboxes}")
    gb = options.max_gb
    if gb is not None and not (math.isfinite(gb) and gb > 0):
        raise InputError(f"--max-gb must be a number more than 0, not {gb:g}")
    sync = options.sync_batches
    if sync is not None and not 1 <= sync <= SERVICE_BATCH_LIMIT:
        raise InputError(f"--sync-batches must be from 1 to {SERVICE_BATCH_LIMIT} (Exchange Online's limit of "
                         f"migration batches at once), not {sync}")
    if options.super_connector_degree < 1:
        raise InputError(f"--super-connector-degree must be at least 1, not {options.super_connector_degree}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,40}", options.name_prefix):
        raise InputError(f"--name-prefix {options.name_prefix!r}: use up to 41 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")


def _read_sizes(inputs: PlanInputs, directory: Directory, problems: list[Problem]) -> tuple[list[int], list[bool]]:
    """Each mailbox's size in bytes, and whether one was found (a mailbox without one counts 0 bytes)."""
    sizes = [0] * len(directory.mailboxes)
    known = [False] * len(directory.mailboxes)
    resolve = directory.resolver()
    for table in inputs.tables:
        size_col = next((c for c in SIZE_COLUMNS if c in table.columns), None)
        if table.kind not in (Kind.SIZES, Kind.MAILBOXES) or size_col is None:
            continue
        id_col = "primarysmtpaddress" if table.kind is Kind.MAILBOXES else next(
            c for c in MAILBOX_ID_COLUMNS if c in table.columns
        )
        unit = unit_of_column(size_col)
        ids, values = table.columns[id_col], table.columns[size_col]
        for i, row in enumerate(table.rows):
            index = resolve(ids[i])
            if not isinstance(index, int):
                if table.kind is Kind.SIZES:
                    head = table.headers[id_col]
                    problems.append(Problem(table.file, table.sheet, row, head, ids[i], f"size for: {index}"))
                continue
            if not values[i]:
                continue
            parsed = parse_size(values[i], unit)
            if parsed is None:
                head = table.headers[size_col]
                problems.append(Problem(table.file, table.sheet, row, head, values[i],
                                        "not a size: the mailbox counts as one without a size"))  # fmt: skip
                continue
            sizes[index] = parsed
            known[index] = True
    return sizes, known


def _size_warning(missing: list[str], n: int, options: PlanOptions, any_known: bool) -> str | None:
    """The sentence saying which mailboxes have no size and what that does to the plan (None if harmless)."""
    if not missing or (options.max_gb is None and not any_known):
        return None
    have = "has" if len(missing) == 1 else "have"
    what = (f"--max-gb {options.max_gb:g} counts them as 0 GB, so batches may be larger than shown"
            if options.max_gb is not None else "batch sizes count them as 0 GB")  # fmt: skip
    return (f"{len(missing)} of {n} mailboxes {have} no size ({name_list(missing)}): {what}; give a sizes export "
            f"(Get-MailboxStatistics) covering them; the full list is in plan.json (mailboxes_without_size)")


def _excluded(
    links: Links, directory: Directory, n: int, options: PlanOptions, warnings: list[str]
) -> tuple[np.ndarray, np.ndarray, list[ExcludedTrustee]]:
    """Per-trustee degree (distinct mailboxes), and the mask of excluded trustee keys (mailboxes, then names)."""
    m = np.asarray(links.mailbox, dtype=np.int64)
    t = np.asarray(links.trustee, dtype=np.int64)
    keys = np.where(t >= 0, t, n - 1 - t)
    total = n + len(links.unresolved_written)
    pairs = np.unique(keys * max(n, 1) + m) if keys.size else keys
    degree = np.bincount(pairs // max(n, 1), minlength=total)
    mask = degree > options.super_connector_degree
    forced: set[int] = set()
    for value in options.exclude_trustees:
        found = directory.resolve(value)
        low = value.strip().lower()
        hits = {found} if isinstance(found, int) else set()
        hits |= {n + uid for name, uid in links.unresolved_names.items() if low in (name, name.rsplit("\\", 1)[-1])}
        if not hits:
            warnings.append(f"--exclude-trustee {value!r} matched no mailbox and no trustee")
        forced |= hits
    for key in forced:
        mask[key] = True
    excluded = []
    for key in np.nonzero(mask)[0].tolist():
        name = directory.mailboxes[key].address if key < n else links.unresolved_written[key - n]
        why = "--exclude-trustee" if key in forced else (
            f"linked to {degree[key]} mailboxes, more than --super-connector-degree {options.super_connector_degree}"
        )  # fmt: skip
        if key >= n:
            why += "; no mailbox"
        excluded.append(ExcludedTrustee(name, why, int(degree[key])))
    excluded.sort(key=lambda e: (-e.mailbox_count, e.trustee))
    return keys, mask, excluded


def plan_batches(inputs: PlanInputs, options: PlanOptions | None = None) -> BatchPlan:
    """Plan migration batches from loaded exports (see the module docstring for how).

    Raises:
        BatchInputError: the inputs have blocking problems (all of them are in ``.problems``).
        InputError: an option is out of range.
    """
    options = options or PlanOptions()
    check_options(options)
    directory, (sizes, known), links, problems, warnings, keys, excluded_mask, excluded = _prepare(inputs, options)
    if any(p.blocking for p in problems):
        raise BatchInputError(problems)
    n = len(directory.mailboxes)
    unresolved = [p for p in problems if not p.blocking]

    m = np.asarray(links.mailbox, dtype=np.int64)
    t = np.asarray(links.trustee, dtype=np.int64)
    r = np.asarray(links.right, dtype=np.int64)
    keep = (t >= 0) & ~excluded_mask[keys] if t.size else np.zeros(0, dtype=bool)
    edge_key = np.unique((m[keep] * n + t[keep]) * len(RIGHTS) + r[keep])
    em, et, er = edge_key // len(RIGHTS) // n, edge_key // len(RIGHTS) % n, edge_key % len(RIGHTS)
    hard = (er >= SENDAS) | (options.source_version <= 2010)

    size_arr = np.asarray(sizes, dtype=np.int64)
    pins = [mb.wave for mb in directory.mailboxes]
    addresses = [mb.address for mb in directory.mailboxes]
    grouping = group_mailboxes(n, em, et, np.where(hard, HARD, 1), size_arr, pins, options, addresses)
    batch_of = grouping.batch_of
    batches = [
        dataclasses.replace(b, mailboxes=tuple(sorted(addresses[x] for x in members)),
                            without_size=sum(not known[x] for x in members))
        for b, members in zip(grouping.batches, grouping.members)
    ]  # fmt: skip
    missing = [addresses[x] for x in range(n) if not known[x]]
    size_warning = _size_warning(missing, n, options, any(known))

    cross_mask = batch_of[em] != batch_of[et] if em.size else np.zeros(0, dtype=bool)
    names = [b.name for b in batches]
    where = batch_of.tolist()
    cross = [
        CrossLink(addresses[a], addresses[b], RIGHTS[k], "hard" if h else "soft", names[where[a]], names[where[b]])
        for a, b, k, h in zip(em[cross_mask].tolist(), et[cross_mask].tolist(), er[cross_mask].tolist(),
                              hard[cross_mask].tolist())
    ]  # fmt: skip
    cross.sort(key=lambda c: (c.mailbox_batch, c.mailbox, c.trustee, c.right))
    sync_batches, waves, packed = pack_sync_batches(tuple(batches), options.sync_batches, options.name_prefix)
    sync_of = {w.name: w.sync_batch for w in waves}
    reasons = grouping.reasons
    if cross:
        ends = np.concatenate([em[cross_mask], et[cross_mask]])
        for x, k in zip(*np.unique(ends, return_counts=True)):
            reasons[x] += f"; {k} of its links cross to other batches"
    placements = tuple(
        Placement(addresses[x], directory.mailboxes[x].display_name, b.name, sizes[x], reasons[x], known[x],
                  sync_of[b.name])
        for bi, b in enumerate(batches)
        for x in grouping.members[bi]
    )
    warnings += grouping.warnings
    if packed and options.sync_batches is None:  # packed on its own: say so; asked for, it is in the summary
        warnings.append(packed)
    if size_warning:
        warnings.insert(0, size_warning)
    hard_links = int(hard.sum())
    summary: dict[str, Any] = {
        "mailboxes": n,
        "batches": len(sync_batches),
        "waves": len(waves),
        "sync_batches_packed": packed is not None,
        "sync_note": packed,
        "total_bytes": int(size_arr.sum()),
        "pinned_mailboxes": sum(1 for p in pins if p),
        "mailboxes_without_size": len(missing),
        "permission_rows": links.rows,
        "links": {"hard": hard_links, "soft": int(em.size) - hard_links},
        "cross_batch_links": {
            "hard": sum(1 for c in cross if c.strength == "hard"),
            "soft": sum(1 for c in cross if c.strength == "soft"),
        },
        "skipped": dict(sorted(links.skipped.items())),
        "unresolved": len(unresolved),
        "excluded_trustees": len(excluded),
        "largest_group": grouping.largest_group,
        "split_groups": grouping.split_groups,
        "options": options.to_json(),
    }
    return BatchPlan(
        batches=sync_batches,
        waves=waves,
        placements=placements,
        cross_batch_links=tuple(cross),
        unresolved=tuple(unresolved),
        excluded_trustees=tuple(excluded),
        summary=summary,
        warnings=tuple(warnings),
        mailboxes_without_size=tuple(missing),
    )


def _prepare(inputs: PlanInputs, options: PlanOptions) -> tuple[Any, ...]:
    """Steps 1-2: inventory, sizes, resolved links, super-connectors; every problem found on the way."""
    problems = list(inputs.problems)
    tables = list(inputs.tables)
    if not any(t.kind is Kind.MAILBOXES for t in tables):
        problems.append(Problem("", None, None, None, "", "no mailbox inventory (a Get-Mailbox export with "
                                "PrimarySmtpAddress) among the inputs", True))  # fmt: skip
    directory = build_directory(tables, problems)
    sizes = _read_sizes(inputs, directory, problems)
    links = collect_links(tables, directory, problems)
    warnings: list[str] = []
    n = len(directory.mailboxes)
    keys, excluded_mask, excluded = _excluded(links, directory, n, options, warnings)
    problems += [Problem(*row[1:]) for row in links.pending if not excluded_mask[n + row[0]]]
    return directory, sizes, links, problems, warnings, keys, excluded_mask, excluded


def validate_inputs(inputs: PlanInputs, options: PlanOptions | None = None) -> list[Problem]:
    """Every problem in the inputs (blocking and not), without planning.

    Rows whose trustee is a super-connector without a mailbox are not listed one by one (planning lists the
    trustee in ``excluded_trustees`` instead).
    """
    options = options or PlanOptions()
    check_options(options)
    return _prepare(inputs, options)[3]
