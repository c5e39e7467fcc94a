"""The `dirsync` command: the same core as the PowerShell module, for a shell without pwsh.

Human output uses rich (tables, progress bars); `--json` prints the result as JSON for scripts.
Exit codes: 0 success, 1 the operation failed, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__, config, schedule
from .errors import ConfigurationError, DirSyncError, InvalidArgumentError, NotConfiguredError
from .events import Events

out = Console()
err = Console(stderr=True)


class ConsoleEvents(Events):
    """Renders core events: progress bars on a terminal, warnings always, verbose lines on request."""

    def __init__(self, verbose: bool, show_progress: bool):
        super().__init__(self._render)
        self.verbose_enabled = verbose
        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                             TimeElapsedColumn(), console=err, transient=True,
                             disable=not (show_progress and err.is_terminal))
        self.tasks: dict[int, int] = {}

    def _render(self, event: dict) -> None:
        kind = event["kind"]
        if kind == "warning":
            err.print(f"[yellow]WARNING: {event['message']}[/]", highlight=False)
        elif kind == "verbose" and self.verbose_enabled:
            err.print(f"[dim]VERBOSE: {event['message']}[/]", highlight=False)
        elif kind == "progress":
            task = self.tasks.get(event["id"])
            if task is None:
                task = self.tasks[event["id"]] = self.bars.add_task(event["activity"], total=None, status="")
            if event.get("completed"):
                self.bars.remove_task(task)
                del self.tasks[event["id"]]
            else:
                self.bars.update(task, completed=event["done"], total=event["total"], status=event["status"])

    def __enter__(self):
        self.bars.start()
        return self

    def __exit__(self, *exc):
        self.bars.stop()


def _show_configuration(result: dict) -> None:
    table = Table(title="DirSync configuration", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Path", result["path"])
    for section, values in result.items():
        if isinstance(values, dict):
            for key, value in values.items():
                shown = "; ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
                table.add_row(f"{section}.{key}", shown)
        elif section != "path":
            table.add_row(section, str(values))
    out.print(table)


def _show_fields(title: str):
    def render(result: dict) -> None:
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in result.items():
            table.add_row(key, "" if value is None else str(value))
        out.print(table)
    return render


# (group, action) -> (handler, renderer for humans)
COMMANDS = {
    ("config", "show"): (lambda args, events: config.describe(args.home, events), _show_configuration),
    ("schedule", "show"): (lambda args, events: schedule.describe(args.home, events), _show_fields("DirSync schedule")),
    ("schedule", "set"): (lambda args, events: schedule.change(args.interval_minutes, args.enabled, args.home, events),
                          _show_fields("DirSync schedule")),
}


def _on_off(text: str) -> bool:
    if text.lower() not in ("on", "off"):
        raise argparse.ArgumentTypeError("say on or off")
    return text.lower() == "on"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dirsync", description="Synchronize Active Directory into Microsoft 365.")
    parser.add_argument("--version", action="version", version=f"dirsync {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as JSON, for scripts")
    common.add_argument("--verbose", "-v", action="store_true", help="show what DirSync does, step by step")
    common.add_argument("--home", help=f"the DirSync home folder (default: ${config.HOME_VARIABLE} or {config.home()})")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)

    config_group = groups.add_parser("config", help="show or change the configuration").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    config_group.add_parser("show", parents=[common], help="show the configuration (no secrets)")

    schedule_group = groups.add_parser("schedule", help="the recurring synchronization").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    schedule_group.add_parser("show", parents=[common], help="show the schedule and the next run time")
    schedule_set = schedule_group.add_parser("set", parents=[common], help="change the interval, turn on or off")
    schedule_set.add_argument("--interval-minutes", type=int, help="minutes between runs (30 to 10080)")
    schedule_set.add_argument("--enabled", type=_on_off, metavar="on|off", help="register or remove the schedule")

    try:
        from .tenant.cli import add_cli
    except ImportError:  # a core-only installation has no local tenant
        pass
    else:
        add_cli(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "run"):  # commands that own their output (dirsync tenant serve)
        return args.run(args)
    handler, render = COMMANDS[(args.group, args.action)]
    try:
        with ConsoleEvents(args.verbose, show_progress=not args.json) as events:
            result = handler(args, events)
    except DirSyncError as exc:
        if args.json:
            print(json.dumps({"error": exc.to_dict()}))
        else:
            err.print(f"[red]error:[/] {exc.message}", highlight=False)
            if exc.fix:
                err.print(f"[bold]fix:[/] {exc.fix}", highlight=False)
        return 2 if isinstance(exc, (ConfigurationError, NotConfiguredError, InvalidArgumentError)) else 1
    except KeyboardInterrupt:
        err.print("[yellow]Stopped.[/]")
        return 130
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        render(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
