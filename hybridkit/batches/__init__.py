"""Batch planning from permission exports: ``hybridkit batches plan`` and ``hybridkit batches validate``.

Pure planning code (no server). Other code calls it in two steps::

    from hybridkit.batches import PlanOptions, load_inputs, plan_batches, write_plan

    inputs = load_inputs(["mailboxes.csv", "sizes.csv", "fullaccess.csv", "sendas.csv"])  # kind=None: by header
    plan = plan_batches(inputs, PlanOptions(max_mailboxes=100, max_gb=500))
    write_plan(plan, "out/")            # out/batches/<name>.csv, out/plan.json, out/plan.xlsx, all or nothing
    plan.to_json()                      # the plan.json document
    read_plan("out/")                   # its batches read back, checked (what cutover creates from)
    layout = read_layout("out/")        # both levels: layout.batches (sync batches, each .waves) and
                                        # layout.waves (each .mailboxes and .sync_batch); layout.wave("W")

``load_inputs(paths, kind=None) -> PlanInputs`` reads CSV files and workbooks (every sheet) the way Exchange,
PowerShell and Excel write them and recognises each by its header (``kind`` forces one for all inputs, or per file
as a mapping). ``plan_batches(inputs, options) -> BatchPlan`` raises :class:`BatchInputError` (an ``InputError``,
exit 2) listing every problem when the input has blocking problems. ``validate_inputs(inputs)`` lists the problems
without planning.

Two levels: the planner's relationship groups are completion *waves*; ``plan.batches`` are the migration batches
to create. With ``PlanOptions(sync_batches=N)``, or on its own when the waves would be more than Exchange Online's
100 migration batches, whole waves are packed into at most N sync batches; otherwise each wave is its own batch.
"""

from hybridkit.batches._model import (
    Batch,
    BatchInputError,
    BatchPlan,
    CrossLink,
    ExcludedTrustee,
    InputFile,
    Kind,
    Placement,
    PlanInputs,
    PlanLayout,
    PlanOptions,
    Problem,
    SERVICE_BATCH_LIMIT,
    Table,
    Wave,
)

__all__ = [
    "Batch",
    "BatchInputError",
    "BatchPlan",
    "CrossLink",
    "ExcludedTrustee",
    "InputFile",
    "Kind",
    "Placement",
    "PlanInputs",
    "PlanLayout",
    "PlanOptions",
    "Problem",
    "SERVICE_BATCH_LIMIT",
    "Table",
    "Wave",
    "load_inputs",
    "parse_layout",
    "parse_plan",
    "plan_batches",
    "read_layout",
    "read_plan",
    "validate_inputs",
    "write_plan",
]


_LAZY = {  # numpy, the readers and xlsxwriter load on first use: the root CLI imports this package at startup
    "load_inputs": "hybridkit.batches._read",
    "parse_layout": "hybridkit.batches._planfile",
    "parse_plan": "hybridkit.batches._planfile",
    "plan_batches": "hybridkit.batches._plan",
    "read_layout": "hybridkit.batches._planfile",
    "read_plan": "hybridkit.batches._planfile",
    "validate_inputs": "hybridkit.batches._plan",
    "write_plan": "hybridkit.batches._write",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
