"""Grouping resolved links into capped, balanced, stably named batches (steps 3-5 of :mod:`._plan`)."""

from __future__ import annotations

import dataclasses
import heapq
import math
import re
from collections.abc import Callable

import numpy as np

from hybridkit.batches._graph import HARD, Csr, aggregate, components, partition
from hybridkit.batches._model import Batch, PlanOptions, format_gb, name_list

__all__ = ["Grouping", "group_mailboxes"]


@dataclasses.dataclass
class Grouping:
    """Batches, the batch index of each mailbox, each batch's members, and why each mailbox is where it is."""

    batch_of: np.ndarray
    batches: list[Batch]
    members: list[list[int]]
    reasons: list[str]
    warnings: list[str]
    largest_group: int
    split_groups: int


def _pinned_name(label: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.") or "wave"
    return name if name[0].isalpha() else f"Wave-{name}"


def _caps_exceeded(count: int, size: int, options: PlanOptions) -> str:
    """Which caps a count and size break: ``"--max-mailboxes 2 and --max-gb 50"``."""
    over = []
    if options.max_mailboxes and count > options.max_mailboxes:
        over.append(f"--max-mailboxes {options.max_mailboxes}")
    if options.max_bytes is not None and size > options.max_bytes:
        over.append(f"--max-gb {options.max_gb:g}")
    return " and ".join(over) or "the caps"


def _merge_waves(pins: list[str], warnings: list[str]) -> list[str]:
    """One spelling per wave: labels giving the same batch name but for case ("Wave 2", "wave 2", "WAVE-2") are
    one wave (their CSVs would collide on Windows and macOS, their batch names in Exchange Online); the first
    spelling in inventory order names it."""
    first: dict[str, str] = {}
    spellings: dict[str, list[str]] = {}
    for pin in pins:
        if pin:
            key = _pinned_name(pin).casefold()
            first.setdefault(key, pin)
            if pin not in spellings.setdefault(key, []):
                spellings[key].append(pin)
    for key, seen in spellings.items():
        if len(seen) > 1:
            warnings.append(f"wave names {', '.join(repr(v) for v in seen)} differ only in case or punctuation: "
                            f"one batch, {_pinned_name(first[key])}")  # fmt: skip
    if all(len(v) == 1 for v in spellings.values()):
        return pins
    return [first[_pinned_name(pin).casefold()] if pin else pin for pin in pins]


def _members_by(label: np.ndarray, count: int) -> list[list[int]]:
    order = np.argsort(label, kind="stable")
    bounds = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(label, minlength=count), out=bounds[1:])
    flat = order.tolist()
    b = bounds.tolist()
    return [flat[b[i] : b[i + 1]] for i in range(count)]


def group_mailboxes(
    n: int,
    em: np.ndarray,
    et: np.ndarray,
    weight: np.ndarray,
    sizes: np.ndarray,
    pins: list[str],
    options: PlanOptions,
    addresses: list[str] | None = None,
) -> Grouping:
    """Group ``n`` mailboxes linked by edges ``em[i] - et[i]`` (weight ``HARD`` or 1) into batches.

    ``addresses`` names the mailboxes in warnings (default: their index).
    """
    names = addresses if addresses is not None else [str(x) for x in range(n)]
    cap_c = float(options.max_mailboxes) if options.max_mailboxes else math.inf
    cap_b = float(options.max_bytes) if options.max_bytes else math.inf
    warnings: list[str] = []
    pins = _merge_waves(pins, warnings)
    size_list = sizes.tolist()
    ones = [1] * n
    reasons = [""] * n
    pa, pb, pw = aggregate(em, et, weight, max(n, 1))

    # Step 3: hard groups; split those over the caps or holding more than one pinned wave.
    hmask = pw >= HARD
    hard_label = np.asarray(components(n, pa[hmask].tolist(), pb[hmask].tolist()), dtype=np.int64)
    nh = int(hard_label.max()) + 1 if n else 0
    h_count = np.bincount(hard_label, minlength=nh)
    h_size = np.bincount(hard_label, weights=sizes, minlength=nh)
    h_pins: dict[int, set[str]] = {}
    for x, pin in enumerate(pins):
        if pin:
            h_pins.setdefault(int(hard_label[x]), set()).add(pin)
    over = ((h_count > cap_c) | (h_size > cap_b)) & (h_count > 1)
    split = set(np.nonzero(over)[0].tolist()) | {c for c, p in h_pins.items() if len(p) > 1}
    supernode = hard_label.copy()
    next_id = nh
    scratch_part = [-1] * n
    scratch_seen = [False] * n
    if split:
        split_mask = np.zeros(nh, dtype=bool)
        split_mask[list(split)] = True
        sel = split_mask[hard_label[pa]] & (hard_label[pa] == hard_label[pb])
        g1 = Csr(n, pa[sel], pb[sel], pw[sel])
        groups = _members_by(hard_label, nh)
        for c in sorted(split):
            nodes = groups[c]
            fixed = {x: pins[x] for x in nodes if pins[x]}
            parts = partition(nodes, g1, ones, size_list, cap_c, cap_b, fixed, scratch_part, scratch_seen)
            why = (f"its hard-linked group (SendAs/calendar) of {len(nodes)} mailboxes is over the cap or spans "
                   f"pinned waves; split into {len(parts)} parts along the fewest hard links")  # fmt: skip
            for _label, part in parts:
                for x in part:
                    supernode[x] = next_id
                    reasons[x] = why
                next_id += 1
    uniq, supernode = np.unique(supernode, return_inverse=True)
    ns = int(uniq.size)

    # Step 4: permission groups over super-nodes; split those over the caps or spanning pinned waves.
    s_count = np.bincount(supernode, minlength=ns).tolist()
    s_size = np.bincount(supernode, weights=sizes, minlength=ns).astype(np.int64).tolist()
    s_pin: dict[int, str] = {}
    for x, pin in enumerate(pins):
        if pin:
            s_pin[int(supernode[x])] = pin
    qa, qb, qw = aggregate(supernode[pa], supernode[pb], pw, max(ns, 1))
    group = components(ns, qa.tolist(), qb.tolist())
    ng = max(group) + 1 if ns else 0
    g_nodes = _members_by(np.asarray(group, dtype=np.int64), ng)
    g2: Csr | None = None
    units: list[tuple[str | None, list[int]]] = []
    largest, split_groups = 0, 0
    scratch_part, scratch_seen = [-1] * ns, [False] * ns
    s_members = _members_by(supernode, ns)
    for nodes in g_nodes:
        count = sum(s_count[s] for s in nodes)
        size = sum(s_size[s] for s in nodes)
        labels = {s_pin[s] for s in nodes if s in s_pin}
        largest = max(largest, count)
        if count <= cap_c and size <= cap_b and len(labels) <= 1:
            units.append((next(iter(labels)) if labels else None, nodes))
            why = ("no permission links to other planned mailboxes" if count == 1 else
                   f"moves with its permission group of {count} mailboxes")  # fmt: skip
            for s in nodes:
                for x in s_members[s]:
                    reasons[x] = reasons[x] or why
            continue
        split_groups += 1
        if g2 is None:
            g2 = Csr(ns, qa, qb, qw)
        fixed = {s: s_pin[s] for s in nodes if s in s_pin}
        parts = partition(nodes, g2, s_count, s_size, cap_c, cap_b, fixed, scratch_part, scratch_seen)
        for label, part in parts:
            k = sum(s_count[s] for s in part)
            why = (f"its permission group of {count} mailboxes is over the cap or spans pinned waves; split along "
                   f"the fewest links, this part holds {k}")  # fmt: skip
            for s in part:
                for x in s_members[s]:
                    reasons[x] = reasons[x] or why
            units.append((label, part))
    pinned: dict[str, list[int]] = {}
    free: list[tuple[int, int, list[int]]] = []
    for label, nodes in units:
        mailboxes = [x for s in nodes for x in s_members[s]]
        if label is None:
            free.append((sum(s_count[s] for s in nodes), sum(s_size[s] for s in nodes), mailboxes))
            continue
        pinned.setdefault(label, []).extend(mailboxes)
        for x in mailboxes:
            reasons[x] = (f"pinned to {label} by the Wave/Batch column" if pins[x] else
                          f"moves with mailboxes pinned to {label}; {reasons[x]}")  # fmt: skip

    def oversized(mailboxes: list[int], size: int) -> None:  # a unit that cannot be split, over the caps
        listed = name_list(sorted(names[x] for x in mailboxes))
        who = (f"mailbox {listed} ({format_gb(size)}) alone exceeds" if len(mailboxes) == 1 else
               f"{len(mailboxes)} mailboxes that move together ({listed}; {format_gb(size)}) together exceed")
        warnings.append(f"{who} {_caps_exceeded(len(mailboxes), size, options)}: a batch of its own")

    bins = _pack(free, cap_c, cap_b, oversized)
    batch_of, batches, members = _name(n, bins, pinned, size_list, options, warnings)
    return Grouping(batch_of, batches, members, reasons, warnings, largest, split_groups)


def _pack(
    free: list[tuple[int, int, list[int]]], cap_c: float, cap_b: float, oversized: Callable[[list[int], int], None]
) -> list[list[int]]:
    """Step 5: unpinned units (count, bytes, mailboxes), largest first, each into the least loaded bin that fits,
    starting from the fewest bins the caps allow (worst-fit decreasing: balances count and size)."""
    if not free:
        return []
    bins_needed = max(1, math.ceil(sum(c for c, _, _ in free) / cap_c) if cap_c < math.inf else 1,
                      math.ceil(sum(b for _, b, _ in free) / cap_b) if cap_b < math.inf else 1)  # fmt: skip
    free.sort(key=lambda u: (-u[0], -u[1], min(u[2])))
    loads: list[list[int]] = [[0, 0] for _ in range(bins_needed)]  # [count, bytes] per bin
    contents: list[list[int]] = [[] for _ in range(bins_needed)]
    heap: list[tuple[float, int]] = [(0.0, i) for i in range(bins_needed)]

    def load(c: int, b: int) -> float:
        return max(c / cap_c if cap_c < math.inf else 0.0, b / cap_b if cap_b < math.inf else 0.0, c / 1e12)

    for c, b, mailboxes in free:
        aside: list[tuple[float, int]] = []
        chosen = -1
        while heap:
            item = heapq.heappop(heap)
            if loads[item[1]][0] + c <= cap_c and loads[item[1]][1] + b <= cap_b:
                chosen = item[1]
                break
            aside.append(item)
        if chosen < 0:
            chosen = len(loads)
            loads.append([0, 0])
            contents.append([])
            if c > cap_c or b > cap_b:
                oversized(mailboxes, b)
        loads[chosen][0] += c
        loads[chosen][1] += b
        contents[chosen].extend(mailboxes)
        heapq.heappush(heap, (load(*loads[chosen]), chosen))
        for item in aside:
            heapq.heappush(heap, item)
    return [sorted(members) for members in contents if members]


def _name(
    n: int,
    auto: list[list[int]],
    pinned: dict[str, list[int]],
    size_list: list[int],
    options: PlanOptions,
    warnings: list[str],
) -> tuple[np.ndarray, list[Batch], list[list[int]]]:
    """Name batches: pinned waves by their label, the others ``<prefix>-NNN`` in order of their first mailbox
    (inventory order), so the same input always gives the same names."""
    prefix = options.name_prefix
    cap_c = float(options.max_mailboxes) if options.max_mailboxes else math.inf
    cap_b = float(options.max_bytes) if options.max_bytes else math.inf
    width = max(3, len(str(len(auto))))
    batches: list[Batch] = []
    members_out: list[list[int]] = []
    for label in sorted(pinned):
        members = sorted(pinned[label])
        name = _pinned_name(label)
        size = sum(size_list[x] for x in members)
        if len(members) > cap_c or size > cap_b:
            noun = "mailbox" if len(members) == 1 else "mailboxes"
            warnings.append(f"pinned batch {name} holds {len(members)} {noun} ({format_gb(size)}), over "
                            f"{_caps_exceeded(len(members), size, options)}: the Wave/Batch column puts them together")
        batches.append(Batch(name, (), size, pinned=True))
        members_out.append(members)
    taken = {b.name.casefold() for b in batches}  # a wave may be called "Batch-001" too
    number = 0
    for members in sorted(auto, key=lambda ms: ms[0]):
        number += 1
        while f"{prefix}-{number:0{width}d}".casefold() in taken:
            number += 1
        batches.append(Batch(f"{prefix}-{number:0{width}d}", (), sum(size_list[x] for x in members)))
        members_out.append(members)
    batch_of = np.full(n, -1, dtype=np.int64)
    for index, members in enumerate(members_out):
        batch_of[members] = index
    return batch_of, batches, members_out
