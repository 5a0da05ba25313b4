"""``hybridkit batches plan`` and ``hybridkit batches validate``: thin shells over the pure planner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from hybridkit._context import AppContext
from hybridkit.batches._model import BatchInputError, Kind, PlanInputs, PlanOptions, Problem
from hybridkit.batches._render import inputs_table, problem_table, summary_table, validation_json
from hybridkit.errors import InputError

# the planner (numpy), readers and writer are imported inside the commands: `hybridkit --help` stays fast

__all__ = ["app"]

app = typer.Typer(
    help="Plan migration batches from permission exports (CSV or workbooks); no server needed.",
    no_args_is_help=True,
)

_INPUTS_HELP = "CSV files and workbooks: inventory, sizes, permission exports."
_KIND_HELP = (f"Force what an input holds: KIND for all, FILE=KIND or BOOK.xlsx:SHEET=KIND "
              f"({', '.join(k.value for k in Kind)}).")
InputsArg = Annotated[list[Path], typer.Argument(help=_INPUTS_HELP, metavar="INPUT")]
KindOpt = Annotated[Optional[list[str]], typer.Option("--kind", help=_KIND_HELP, metavar="KIND")]


def _app_ctx(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if isinstance(obj, AppContext):
        return obj
    return AppContext(None, None, "table", False, Console(), Console(stderr=True))


def _kinds(values: list[str] | None, inputs: list[Path]) -> dict[str, Kind] | None:
    """``--kind`` values as the reader's mapping; each FILE (or BOOK of BOOK:SHEET) must be one of the inputs."""
    if not values:
        return None
    names = {key for p in inputs for key in (str(p), p.name, p.stem)}
    books = {key for p in inputs for key in (str(p), p.name)}
    kinds: dict[str, Kind] = {}
    for value in values:
        file, _, name = value.rpartition("=")
        try:
            kinds[file or "*"] = Kind(name.strip().lower())
        except ValueError:
            raise typer.BadParameter(f"unknown kind {name!r}", param_hint="--kind") from None
        if file and file not in names and file.rpartition(":")[0] not in books:
            shown = ", ".join(p.name for p in inputs[:6]) + (f", ... ({len(inputs)} in all)" if len(inputs) > 6 else "")
            raise InputError(f"--kind {value}: {file!r} is not among the inputs ({shown})")
    return kinds


def _say(app_ctx: AppContext, line: str) -> None:
    """A warning or error on stderr: one line when piped or captured (scripts grep it), wrapped at a terminal."""
    err = app_ctx.err_console
    err.print(line, highlight=False, soft_wrap=not err.is_terminal)


def _report_problems(app_ctx: AppContext, problems: list[Problem], loaded: PlanInputs) -> None:
    blocking = [p for p in problems if p.blocking]
    if app_ctx.json:
        app_ctx.console.print_json(json.dumps(validation_json(loaded, problems)))
    elif problems:
        app_ctx.err_console.print(problem_table(problems, f"{len(blocking)} blocking problem(s), "
                                                           f"{len(problems) - len(blocking)} note(s)"))  # fmt: skip


@app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    inputs: InputsArg,
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Directory for batches/*.csv, plan.json and plan.xlsx.")
    ],
    kind: KindOpt = None,
    max_mailboxes: Annotated[int, typer.Option("--max-mailboxes", help="Most mailboxes per batch.", metavar="N")] = 500,
    max_gb: Annotated[Optional[float], typer.Option("--max-gb", help="Most GB per batch.", metavar="GB")] = None,
    super_connector_degree: Annotated[
        int,
        typer.Option("--super-connector-degree", metavar="N",
                     help="Trustees linked to more mailboxes than this never glue."),
    ] = 50,
    exclude_trustee: Annotated[
        Optional[list[str]],
        typer.Option("--exclude-trustee", metavar="NAME", help="A trustee whose links never glue (repeatable)."),
    ] = None,
    source_version: Annotated[
        str,
        typer.Option("--source-version", metavar="VER",
                     help="On-prem Exchange version: 2010, 2013, 2016, 2019 or SE; 2010 makes every permission hard."),
    ] = "2016",
    name_prefix: Annotated[
        str, typer.Option("--name-prefix", metavar="PREFIX", help="Batch names: PREFIX-001, PREFIX-002...")
    ] = "Batch",
    sync_batches: Annotated[
        Optional[int],
        typer.Option("--sync-batches", metavar="N",
                     help="Keep the groups as completion waves and pack whole waves into at most N large sync "
                     "batches (done on its own when the waves would be more than Exchange Online's 100 batches)."),
    ] = None,
    xlsx: Annotated[bool, typer.Option("--xlsx/--no-xlsx", help="Also write plan.xlsx.")] = True,
    allow_missing_sizes: Annotated[
        bool,
        typer.Option("--allow-missing-sizes", help="With --max-gb, exit 0 even if some mailboxes have no size "
                     "(they count as 0 GB; the plan warns)."),
    ] = False,
) -> None:
    """Plan batches: mailboxes linked by permissions move together, within the caps, every decision explained."""
    app_ctx = _app_ctx(ctx)
    from hybridkit.batches._plan import check_options, plan_batches, source_year
    from hybridkit.batches._read import load_inputs
    from hybridkit.batches._write import check_out, write_plan

    options = PlanOptions(
        max_mailboxes=max_mailboxes,
        max_gb=max_gb,
        super_connector_degree=super_connector_degree,
        exclude_trustees=tuple(exclude_trustee or ()),
        source_version=source_year(source_version),
        name_prefix=name_prefix,
        sync_batches=sync_batches,
    )
    check_options(options)
    kinds = _kinds(kind, inputs)
    check_out(out)
    loaded = load_inputs(inputs, kinds)
    try:
        plan = plan_batches(loaded, options)
    except BatchInputError as exc:
        _report_problems(app_ctx, exc.problems, loaded)
        if not app_ctx.json:
            _say(app_ctx, f"[bold red]error:[/] {escape(str(exc))}; nothing written")
        raise typer.Exit(2) from None
    written = write_plan(plan, out, xlsx=xlsx)
    unsized = len(plan.mailboxes_without_size)
    cap_unsure = max_gb is not None and unsized > 0 and not allow_missing_sizes
    if app_ctx.json:
        payload: dict[str, Any] = {"out": str(written), **plan.to_json()}
        app_ctx.console.print_json(json.dumps(payload))
    else:
        app_ctx.console.print(summary_table(plan, written))
        if plan.summary.get("sync_note") and sync_batches is not None:
            app_ctx.console.print(escape(str(plan.summary["sync_note"])), highlight=False)
        for warning in plan.warnings:
            _say(app_ctx, f"[yellow]warning:[/] {escape(str(warning))}")
    if cap_unsure:
        _say(app_ctx, f"[bold red]error:[/] --max-gb {max_gb:g} is not guaranteed: {unsized} mailbox"
             f"{'' if unsized == 1 else 'es'} without size (plan written to {escape(str(written))}); give their "
             "sizes, or --allow-missing-sizes to accept the plan as it is")
        raise typer.Exit(1)


@app.command("validate")
def validate_cmd(
    ctx: typer.Context,
    inputs: InputsArg,
    kind: KindOpt = None,
    super_connector_degree: Annotated[
        int,
        typer.Option("--super-connector-degree", metavar="N",
                     help="As for plan: such trustees are not listed row by row."),
    ] = 50,
) -> None:
    """Check the inputs and list every problem (file, sheet, row, column); exit 2 if any is blocking."""
    app_ctx = _app_ctx(ctx)
    from hybridkit.batches._plan import validate_inputs
    from hybridkit.batches._read import load_inputs

    loaded = load_inputs(inputs, _kinds(kind, inputs))
    problems = validate_inputs(loaded, PlanOptions(super_connector_degree=super_connector_degree))
    blocking = sum(1 for p in problems if p.blocking)
    if app_ctx.json:
        _report_problems(app_ctx, problems, loaded)
    else:
        app_ctx.console.print(inputs_table(loaded))
        _report_problems(app_ctx, problems, loaded)
        verdict = f"{blocking} blocking problem(s)" if blocking else "no blocking problems"
        app_ctx.console.print(f"{verdict}, {len(problems) - blocking} note(s)", highlight=False)
    if blocking:
        raise typer.Exit(2)
