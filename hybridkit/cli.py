"""The root of the ``hybridkit`` command: global options, sub-apps per capability, one error exit path."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from hybridkit import __version__
from hybridkit._context import EXIT_BROKEN_PIPE, AppConsole, AppContext, stdout_gone
from hybridkit.errors import HybridkitError

__all__ = ["app", "main"]

class _Root(TyperGroup):
    """The root group: every expected error becomes one stderr line and its exit code, never a traceback."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except HybridkitError as exc:
            verbose = bool(getattr(ctx.obj, "verbose", False))
            err = Console(stderr=True)
            if verbose:
                err.print_exception(show_locals=False)
            # One line when piped or captured (scripts grep it); wrapped only for a person at a terminal.
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=not err.is_terminal)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            Console(stderr=True).print("Interrupted.")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            stdout_gone()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None


app = typer.Typer(
    cls=_Root,
    name="hybridkit",
    help="Run Exchange hybrid migrations from any machine: plan batches, cut over, hold, mail flow, decommission."
         "\n\nExit codes: 0 ok, 1 some items failed, 2 bad input or usage, 130 interrupted (Ctrl-C), 141 the "
         "output's reader went away (| head).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

# (sub-command name, module holding a Typer ``app``). The root only wires them.
SUB_APPS: tuple[tuple[str, str], ...] = (
    ("lab", "hybridkit.lab.cli"),
    ("profiles", "hybridkit.profiles_cli"),
    ("connect", "hybridkit.connect_cli"),
    ("journal", "hybridkit.journal_cli"),
    ("batches", "hybridkit.batches.cli"),
    ("inventory", "hybridkit.inventory.cli"),
    ("cutover", "hybridkit.cutover.cli"),
    ("hold", "hybridkit.hold.cli"),
    ("mailflow", "hybridkit.mailflow.cli"),
    ("decommission", "hybridkit.decommission.cli"),
)
TOP_COMMANDS: tuple[tuple[str, str, str], ...] = (("demo", "hybridkit.demo", "demo"),)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hybridkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    profile: Annotated[Optional[str], typer.Option("--profile", "-p", help="Profile from hybridkit.toml.")] = None,
    config: Annotated[
        Optional[Path], typer.Option("--config", help="hybridkit.toml to use.", envvar="HYBRIDKIT_CONFIG")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="table (for people) or json (for scripts).")] = "table",
    verbose: Annotated[int, typer.Option(
        "--verbose", "-v", count=True,
        help="-v: hybridkit's debug log and tracebacks on stderr. -vv: the protocol libraries' too (pypsrp, "
             "psrpcore, spnego, urllib3: every WSMan message, megabytes per thousand mailboxes).")] = 0,
    debug_protocol: Annotated[bool, typer.Option(
        "--debug-protocol", help="The protocol libraries' debug log as well (the same as -vv).")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--output")
    console = AppConsole()
    err_console = AppConsole(stderr=True)
    if verbose or debug_protocol:
        _log_to(err_console, protocol=verbose >= 2 or debug_protocol)
    ctx.obj = AppContext(
        profile=profile, config=config, output=output, verbose=bool(verbose or debug_protocol), console=console,
        err_console=err_console,
    )


def _log_to(console: Console, *, protocol: bool) -> None:
    """hybridkit's own loggers at DEBUG; the protocol libraries' only when asked (else warnings and up).

    A 1,000-mailbox run logs kilobytes at -v; with the protocol libraries (every WSMan envelope) it logs tens of
    megabytes, which is why that is a separate, explicit level.
    """
    from rich.logging import RichHandler

    handler = RichHandler(console=console, show_path=False)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if protocol else logging.WARNING, handlers=[handler], force=True)
    logging.getLogger("hybridkit").setLevel(logging.DEBUG)


def _wire() -> None:
    for name, module_name in SUB_APPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        sub = getattr(module, "app", None)
        if sub is not None and sub.registered_commands + sub.registered_groups:
            app.add_typer(sub, name=name)
    for name, module_name, attr in TOP_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        app.command(name=name)(getattr(module, attr))


_wire()


def main() -> None:
    """Entry point of the ``hybridkit`` script."""
    try:
        app()
    except SystemExit as exc:
        try:
            sys.stdout.flush()  # what is still buffered goes now, while a broken pipe can be handled
        except BrokenPipeError:
            stdout_gone()
            raise SystemExit(EXIT_BROKEN_PIPE) from None
        raise
