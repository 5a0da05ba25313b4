"""The root of the ``hybridkit`` command: global options, sub-apps per capability, one error exit path."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from hybridkit import __version__
from hybridkit._context import AppContext
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


app = typer.Typer(
    cls=_Root,
    name="hybridkit",
    help="Run Exchange hybrid migrations from any machine: plan batches, cut over, hold, mail flow, decommission.",
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
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs and tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--output")
    console = Console()
    err_console = Console(stderr=True)
    if verbose:
        from rich.logging import RichHandler

        logging.basicConfig(level=logging.DEBUG, handlers=[RichHandler(console=err_console)], force=True)
    ctx.obj = AppContext(
        profile=profile, config=config, output=output, verbose=verbose, console=console, err_console=err_console
    )


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
    app()
