"""``hybridkit batches plan`` and ``hybridkit batches validate``: thin shells over the pure planner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hybridkit._context import AppContext
from hybridkit.batches._model import BatchInputError, BatchPlan, Kind, PlanInputs, PlanOptions, Problem
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
_MAX_ROWS = 40
_VALUE_SHOWN = 200  # a longer cell (hostile or broken input) is shown cut, marked, in full in -o json


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


def _problem_table(problems: list[Problem], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("", no_wrap=True)
    table.add_column("Where", overflow="fold", ratio=3)  # "fullaccess.csv row 6, User": one column, readable at 80
    table.add_column("Value", overflow="fold", ratio=2)
    table.add_column("Problem", overflow="fold", ratio=3)
    ordered = sorted(problems, key=lambda p: not p.blocking)
    for p in ordered[:_MAX_ROWS]:
        value = p.value
        if len(value) > _VALUE_SHOWN:
            value = f"{value[:_VALUE_SHOWN]}… ({len(value):,} characters)"
        where = (Path(p.file).name if p.file else "") + (f" sheet {p.sheet!r}" if p.sheet else "") + (
            f" row {p.row}" if p.row is not None else "") + (f", {p.column}" if p.column else "")
        table.add_row("[red]blocking[/]" if p.blocking else "[yellow]note[/]", escape(where), escape(value),
                      escape(p.reason))
    if len(ordered) > _MAX_ROWS:
        table.caption = f"... and {len(ordered) - _MAX_ROWS} more"
    return table


def _say(app_ctx: AppContext, line: str) -> None:
    """A warning or error on stderr: one line when piped or captured (scripts grep it), wrapped at a terminal."""
    err = app_ctx.err_console
    err.print(line, highlight=False, soft_wrap=not err.is_terminal)


def _validation_json(loaded: PlanInputs, problems: list[Problem]) -> dict[str, Any]:
    """Every input file (format, encoding, kind, rows, sheets, its problems) and every problem, with counts."""
    by_file: dict[str, list[Problem]] = {}
    for p in problems:
        by_file.setdefault(p.file, []).append(p)
    items = []
    for f in loaded.files:
        tables = [t for t in loaded.tables if t.file == f.file]
        sheets = [{"sheet": t.sheet, "kind": t.kind.value, "rows": len(t)} for t in tables if t.sheet is not None]
        items.append({
            "file": f.file,
            "format": f.format,
            "encoding": f.encoding,
            "kind": tables[0].kind.value if f.format == "csv" and tables else None,
            "rows": sum(len(t) for t in tables),
            "sheets": sheets,
            "problems": [p.to_json() | {"blocking": p.blocking} for p in by_file.get(f.file, [])],
        })  # fmt: skip
    blocking = sum(1 for p in problems if p.blocking)
    return {
        "inputs": items,
        "problems": [p.to_json() | {"blocking": p.blocking} for p in problems],
        "blocking": blocking,
        "summary": {"files": len(items), "blocking": blocking, "notes": len(problems) - blocking},
        "warnings": [],
    }


def _report_problems(app_ctx: AppContext, problems: list[Problem], loaded: PlanInputs) -> None:
    blocking = [p for p in problems if p.blocking]
    if app_ctx.json:
        app_ctx.console.print_json(json.dumps(_validation_json(loaded, problems)))
    elif problems:
        app_ctx.err_console.print(_problem_table(problems, f"{len(blocking)} blocking problem(s), "
                                                           f"{len(problems) - len(blocking)} note(s)"))  # fmt: skip


def _inputs_table(loaded: PlanInputs) -> Table:
    table = Table(title="Inputs", title_justify="left")
    for column in ("File", "Sheet", "Kind", "Rows", "Encoding"):
        table.add_column(column, overflow="fold", justify="right" if column == "Rows" else "left")
    for f in loaded.files:
        tables = [t for t in loaded.tables if t.file == f.file]
        encoding = f.encoding or (f.format or "")
        if not tables:
            state = "not recognised" if f.format else "not read"
            table.add_row(escape(Path(f.file).name), "", f"[red]{state}[/]", "", escape(encoding))
        for t in tables:
            table.add_row(escape(Path(t.file).name), escape(t.sheet or ""), t.kind.value, str(len(t)), escape(encoding))
    return table


def _summary_table(plan: BatchPlan, out: Path) -> Table:
    s = plan.summary
    packed = bool(s.get("sync_batches_packed"))
    waves = f" ({s['waves']} completion waves)" if packed else ""
    title = f"{s['batches']} batches{waves} for {s['mailboxes']} mailboxes -> {escape(str(out))}"
    unsized = s["mailboxes_without_size"] > 0 and s["mailboxes_without_size"] < s["mailboxes"]
    table = Table(title=title, title_justify="left")
    table.add_column("Batch", overflow="fold")
    table.add_column("Mailboxes", justify="right", overflow="fold")
    table.add_column("Size (GB)", justify="right", overflow="fold")
    if unsized:
        table.add_column("Without size", justify="right", overflow="fold")
    if packed:
        table.add_column("Waves", justify="right", overflow="fold")
    table.add_column("Pinned", overflow="fold")
    for batch in plan.batches[:_MAX_ROWS]:
        cells = [escape(batch.name), str(len(batch.mailboxes)), f"{batch.size_bytes / 1024**3:,.1f}"]
        cells += [str(batch.without_size or "")] if unsized else []
        cells += [str(len(batch.waves))] if packed else []
        table.add_row(*cells, "yes" if batch.pinned else "")
    if len(plan.batches) > _MAX_ROWS:
        table.add_row(f"... {len(plan.batches) - _MAX_ROWS} more", *[""] * (len(table.columns) - 1))
    cross = s["cross_batch_links"]
    skipped = ", ".join(f"{k} {v}" for k, v in s["skipped"].items()) or "none"
    table.caption = (
        f"links hard {s['links']['hard']} / soft {s['links']['soft']}; crossing {'waves' if packed else 'batches'} "
        f"hard {cross['hard']} / "
        f"soft {cross['soft']}; unresolved {s['unresolved']}; super-connectors {s['excluded_trustees']}; "
        f"skipped {skipped}"
    )
    table.caption_justify = "left"
    return table


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
        int,
        typer.Option("--source-version", metavar="YEAR",
                     help="On-prem Exchange version: 2010 makes every permission hard."),
    ] = 2016,
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
    from hybridkit.batches._plan import check_options, plan_batches
    from hybridkit.batches._read import load_inputs
    from hybridkit.batches._write import check_out, write_plan

    options = PlanOptions(
        max_mailboxes=max_mailboxes,
        max_gb=max_gb,
        super_connector_degree=super_connector_degree,
        exclude_trustees=tuple(exclude_trustee or ()),
        source_version=source_version,
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
        app_ctx.console.print(_summary_table(plan, written))
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
        app_ctx.console.print(_inputs_table(loaded))
        _report_problems(app_ctx, problems, loaded)
        verdict = f"{blocking} blocking problem(s)" if blocking else "no blocking problems"
        app_ctx.console.print(f"{verdict}, {len(problems) - blocking} note(s)", highlight=False)
    if blocking:
        raise typer.Exit(2)
