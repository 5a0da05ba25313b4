"""Graph work for batch planning: weighted link aggregation, connected components, capped min-cut partitioning.

Weights are integers: a hard link weighs :data:`HARD` and a soft one 1, so one hard link outweighs any realistic
number of soft ones and a cut is compared "fewest hard links first, then soft".

:func:`partition` splits one connected group that is over the caps. It grows parts one at a time from a seed by
always taking the unassigned neighbour most strongly connected to the part (greedy graph growing, a heap with lazy
updates: O(E log E)), merges parts whose union still fits, strongest connection first, then refines with
positive-gain single-node moves (Fiduccia–Mattheyses without the negative moves). Everything is deterministic:
ties break on node order, so the same input gives the same batches.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence

import numpy as np

__all__ = ["HARD", "Csr", "aggregate", "components", "partition"]

HARD = 1 << 20
_REJECTS = 64  # a growing part stops after this many neighbours in a row that do not fit


def aggregate(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected unique pairs ``a < b`` with summed weights; self-loops dropped."""
    a = np.minimum(u, v).astype(np.int64)
    b = np.maximum(u, v).astype(np.int64)
    keep = a != b
    key = a[keep] * n + b[keep]
    if key.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    uniq, inverse = np.unique(key, return_inverse=True)
    summed = np.bincount(inverse, weights=np.asarray(w, dtype=np.float64)[keep]).astype(np.int64)
    return uniq // n, uniq % n, summed


class Csr:
    """Adjacency in compressed sparse rows, as plain Python lists (fast scalar access in loops)."""

    def __init__(self, n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> None:
        src = np.concatenate([a, b])
        dst = np.concatenate([b, a])
        weight = np.concatenate([w, w])
        order = np.argsort(src, kind="stable")
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
        self.n = n
        self.indptr: list[int] = indptr.tolist()
        self.indices: list[int] = dst[order].tolist()
        self.weights: list[int] = weight[order].tolist()


def components(n: int, a: Sequence[int], b: Sequence[int]) -> list[int]:
    """Connected-component label of every node (labels 0.. in order of each component's lowest node)."""
    parent = list(range(n))
    for x, y in zip(a, b):
        while parent[x] != x:
            parent[x] = x = parent[parent[x]]
        while parent[y] != y:
            parent[y] = y = parent[parent[y]]
        if x != y:
            if x < y:
                parent[y] = x
            else:
                parent[x] = y
    labels = [0] * n
    count = 0
    for x in range(n):
        root = parent[x]
        while parent[root] != root:
            root = parent[root]
        if root == x:
            labels[x] = count
            count += 1
        else:
            labels[x] = labels[root]
    return labels


def _bfs_order(nodes: Sequence[int], g: Csr, seen: list[bool]) -> list[int]:
    order: list[int] = []
    indptr, indices = g.indptr, g.indices
    for start in nodes:
        if seen[start]:
            continue
        seen[start] = True
        queue = deque([start])
        while queue:
            x = queue.popleft()
            order.append(x)
            for k in range(indptr[x], indptr[x + 1]):
                y = indices[k]
                if not seen[y]:
                    seen[y] = True
                    queue.append(y)
    return order


def partition(
    nodes: Sequence[int],
    g: Csr,
    count: Sequence[int],
    size: Sequence[int],
    cap_count: float,
    cap_size: float,
    fixed: dict[int, str],
    part_of: list[int],
    seen: list[bool],
) -> list[tuple[str | None, list[int]]]:
    """Split ``nodes`` (one connected group of ``g``) into parts within both caps, cutting as little weight as we can.

    Args:
        nodes: the group, ascending. Its neighbours in ``g`` must all be inside it.
        g: the weighted graph.
        count, size: node weights (mailboxes, bytes) indexed by node.
        cap_count, cap_size: per-part caps (``math.inf`` for none).
        fixed: nodes pinned to a label; nodes with the same label start in one part and never move.
        part_of, seen: scratch lists the length of ``g.n`` (-1 / False for the group's nodes), shared across calls.

    Returns:
        ``(label, nodes)`` per part; a single node heavier than the caps gets a part of its own.
    """
    indptr, indices, weights = g.indptr, g.indices, g.weights
    order = _bfs_order(nodes, g, seen)
    rank = {x: i for i, x in enumerate(order)}
    labels: list[str | None] = []
    pcount: list[int] = []
    psize: list[int] = []

    def new_part(label: str | None, members: list[int]) -> int:
        p = len(labels)
        labels.append(label)
        pcount.append(sum(count[x] for x in members))
        psize.append(sum(size[x] for x in members))
        for x in members:
            part_of[x] = p
        return p

    def grow(p: int, members: list[int]) -> None:
        """Grow part ``p`` by strongest connection up to the caps, then keep the best prefix of the growth:
        the one with the lowest cut per fill (a sweep cut), among prefixes at least half full (or the whole)."""
        heap: list[tuple[int, int, int]] = []
        conn: dict[int, int] = {}

        def touch(x: int) -> int:
            free = 0
            for k in range(indptr[x], indptr[x + 1]):
                y = indices[k]
                if part_of[y] == -1:
                    free += weights[k]
                    c = conn.get(y, 0)
                    if c >= 0:
                        conn[y] = c = c + weights[k]
                        heapq.heappush(heap, (-c, rank[y], y))
            return free

        cut = sum(touch(x) for x in members)
        added: list[int] = []
        best, best_score = -1, math.inf
        rejects = 0
        while heap and pcount[p] < cap_count:
            negc, _, y = heapq.heappop(heap)
            if part_of[y] != -1 or conn[y] != -negc:
                continue
            if pcount[p] + count[y] <= cap_count and psize[p] + size[y] <= cap_size:
                part_of[y] = p
                pcount[p] += count[y]
                psize[p] += size[y]
                cut += touch(y) - conn[y]  # y's free edges become cut; its edges into p no longer are
                added.append(y)
                fill = max(pcount[p] / cap_count, psize[p] / cap_size)
                if fill >= 0.5 and cut / fill <= best_score:
                    best, best_score = len(added) - 1, cut / fill
                rejects = 0
            else:
                conn[y] = -1
                rejects += 1
                if rejects > _REJECTS:
                    break
        if heap and best >= 0 and best < len(added) - 1:
            for y in added[best + 1 :]:
                part_of[y] = -1
                pcount[p] -= count[y]
                psize[p] -= size[y]

    by_label: dict[str, list[int]] = {}
    for x in order:
        if x in fixed:
            by_label.setdefault(fixed[x], []).append(x)
    for label in sorted(by_label):
        members = by_label[label]
        grow(new_part(label, members), members)
    for x in order:
        if part_of[x] == -1:
            grow(new_part(None, [x]), [x])

    _merge(order, g, part_of, labels, pcount, psize, cap_count, cap_size)
    _refine(order, g, part_of, pcount, psize, count, size, cap_count, cap_size, fixed)

    parts: dict[int, list[int]] = {}
    for x in order:
        parts.setdefault(part_of[x], []).append(x)
    return [(labels[p], sorted(members)) for p, members in sorted(parts.items())]


def _merge(
    order: list[int],
    g: Csr,
    part_of: list[int],
    labels: list[str | None],
    pcount: list[int],
    psize: list[int],
    cap_count: float,
    cap_size: float,
) -> None:
    """Merge connected parts whose union fits, strongest connection first (relabels ``part_of`` in place)."""
    between: dict[tuple[int, int], int] = {}
    indptr, indices, weights = g.indptr, g.indices, g.weights
    for x in order:
        px = part_of[x]
        for k in range(indptr[x], indptr[x + 1]):
            py = part_of[indices[k]]
            if px < py:
                between[(px, py)] = between.get((px, py), 0) + weights[k]
    if not between:
        return
    root = list(range(len(labels)))

    def find(p: int) -> int:
        while root[p] != p:
            root[p] = p = root[root[p]]
        return p

    for (p, q), _w in sorted(between.items(), key=lambda item: (-item[1], item[0])):
        p, q = find(p), find(q)
        if p == q or (labels[p] is not None and labels[q] is not None):
            continue
        if pcount[p] + pcount[q] <= cap_count and psize[p] + psize[q] <= cap_size:
            keep, gone = (p, q) if labels[q] is None else (q, p)
            root[gone] = keep
            pcount[keep] += pcount[gone]
            psize[keep] += psize[gone]
    for x in order:
        part_of[x] = find(part_of[x])


def _refine(
    order: list[int],
    g: Csr,
    part_of: list[int],
    pcount: list[int],
    psize: list[int],
    count: Sequence[int],
    size: Sequence[int],
    cap_count: float,
    cap_size: float,
    fixed: dict[int, str],
    passes: int = 3,
) -> None:
    """Move single nodes to the neighbouring part they are more strongly tied to, while that fits (positive gain).

    The first pass visits every node; later passes only the neighbours of nodes that moved.
    """
    indptr, indices, weights = g.indptr, g.indices, g.weights
    rank = {x: i for i, x in enumerate(order)}
    visit = order
    for _ in range(passes):
        moved: set[int] = set()
        for x in visit:
            if x in fixed:
                continue
            px = part_of[x]
            start, stop = indptr[x], indptr[x + 1]
            first = part_of[indices[start]] if start < stop else px
            if first == px and all(part_of[indices[k]] == px for k in range(start + 1, stop)):
                continue  # an interior node: nothing to gain
            tie: dict[int, int] = {}
            for k in range(start, stop):
                py = part_of[indices[k]]
                tie[py] = tie.get(py, 0) + weights[k]
            own = tie.get(px, 0)
            best, gain = -1, 0
            for py, w in tie.items():
                if py != px and w - own > gain:
                    if pcount[py] + count[x] <= cap_count and psize[py] + size[x] <= cap_size:
                        best, gain = py, w - own
            if best >= 0:
                part_of[x] = best
                pcount[px] -= count[x]
                psize[px] -= size[x]
                pcount[best] += count[x]
                psize[best] += size[x]
                moved.update(indices[start:stop])
        if not moved:
            break
        visit = sorted(moved, key=rank.__getitem__)
