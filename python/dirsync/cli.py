"""The `dirsync` command: the same core as the PowerShell module, for a shell without pwsh.

Human output uses rich (tables, progress bars); `--json` prints the result as JSON for scripts.
Every string shown to a person goes through `text.for_display` and into a rich `Text` (never markup), so
a value from Active Directory can neither drive the terminal nor style itself (`[bold]` in a CN); the log
of the scheduled runs is this output too. `--json` keeps the true values (JSON escapes control characters).
Exit codes: 0 success, 1 the operation failed (a sync run that stopped), 2 bad input or configuration,
3 a sync run that completed with export errors, 4 `dirsync test` found synchronization not healthy.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import sys
import typing
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import __version__, config, schedule, service
from .bridge import plain
from .clock import now
from .engine.explain import duration
from .errors import (ConfigurationError, DirSyncError, IdentityAmbiguousError, IdentityNotFoundError,
                     InvalidArgumentError, NotConfiguredError)
from .events import Events
from .files import writing
from .text import for_display
from .vocabulary import RunMode, RunStatus, Trigger

out = Console()
err = Console(stderr=True)
LOG_WIDTH = 200  # a log has no terminal: its tables are as wide as they need, not cut at 80 columns


def shown(value, style: str = "") -> Text:
    """A value as a person sees it: control characters as escapes, rich markup as plain text."""
    return Text(for_display("" if value is None else value), style=style)


class ConsoleEvents(Events):
    """Renders core events: progress bars on a terminal, warnings always, verbose lines on request."""

    def __init__(self, verbose: bool, show_progress: bool, stop_on_interrupt: bool = False):
        super().__init__(self._render)
        self.stop_on_interrupt = stop_on_interrupt
        self._interrupt_handler = None
        self.verbose_enabled = verbose
        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                             TimeElapsedColumn(), console=err, transient=True,
                             disable=not (show_progress and err.is_terminal))
        self.tasks: dict[int, TaskID] = {}

    def _render(self, event: dict) -> None:
        kind = event["kind"]
        if kind == "warning":
            err.print(shown(f"WARNING: {event['message']}", "yellow"))
        elif kind == "notice":  # not wrapped: the address and the code must stay whole to be copied
            err.print(shown(event["message"], "bold"), soft_wrap=True)
        elif kind == "verbose" and self.verbose_enabled:
            err.print(shown(f"VERBOSE: {event['message']}", "dim"))
        elif kind == "progress":
            task = self.tasks.get(event["id"])
            if task is None:
                task = self.tasks[event["id"]] = self.bars.add_task(shown(event["activity"]).markup, total=None,
                                                                    status="")
            if event.get("completed"):
                self.bars.remove_task(task)
                del self.tasks[event["id"]]
            else:
                self.bars.update(task, description=shown(event["activity"]).markup, completed=event["done"],
                                 total=event["total"], status=shown(event["status"]).markup)

    def _interrupted(self, signum, frame) -> None:
        """The first Ctrl+C stops the run the way a cancel does: it commits what was written, records the
        run and releases the lock. A second one quits at once."""
        signal.signal(signal.SIGINT, signal.default_int_handler)
        err.print("[yellow]Stopping after the request in flight (Ctrl+C again to quit at once)...[/]")
        self.cancel()

    def __enter__(self):
        self.bars.start()
        if self.stop_on_interrupt:
            self._interrupt_handler = signal.signal(signal.SIGINT, self._interrupted)
        return self

    def __exit__(self, *exc):
        if self._interrupt_handler is not None:
            signal.signal(signal.SIGINT, self._interrupt_handler)
        self.bars.stop()


def _show_configuration(result: dict) -> None:
    table = Table(title="DirSync configuration", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Path", shown(result["path"]))
    for section, values in result.items():
        if isinstance(values, dict):
            for key, value in values.items():
                table.add_row(f"{section}.{key}", shown("; ".join(value) if isinstance(value, list) else value))
        elif section != "path":
            table.add_row(section, shown(values))
    out.print(table)


def _show_fields(title: str):
    def render(result: dict) -> None:
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in result.items():
            table.add_row(key, shown(value))
        out.print(table)
    return render


def _show_run(result: dict) -> None:
    style = {RunStatus.success: "green", RunStatus.export_errors: "yellow"}.get(result["status"], "red")
    title = "Preview (nothing written)" if result.get("preview") else f"Run {result.get('runId')}"
    out.print(Text.assemble(shown(title, "bold"), ": ", shown(result["status"], style),
                            shown(f" ({result['mode']}, {result.get('trigger', '')})")))
    if result.get("message"):
        out.print(shown(result["message"]))
    writes = result.get("plannedWrites")
    if writes is not None and (writes or result.get("preview")):  # a run with nothing to write says nothing
        out.print(shown(f"Plan: {writes:,} write{'' if writes == 1 else 's'} to Microsoft 365, at least "
                        f"{duration(result['quotaSeconds'])} at its write quota"))
    counts = Table(show_header=True, title_justify="left")
    for key in result["counts"]:
        counts.add_column(key, justify="right")
    counts.add_row(*(str(v) for v in result["counts"].values()))
    out.print(counts)
    # A run of chosen objects says what it did to each; a whole run's changes are in its counts.
    shown_changes = result.get("plan") or (result.get("changes") if result["mode"] == RunMode.object else None)
    if shown_changes:
        plan = Table("action", "kind", "object", "details", title="Plan" if result.get("plan") else "Changes",
                     title_justify="left")
        for change in shown_changes:
            plan.add_row(shown(change.get("action")), shown(change.get("kind")),
                         shown(change.get("dn") or change.get("anchor")),
                         shown(", ".join(change.get("properties") or [])
                               if isinstance(change.get("properties"), (list, dict)) else ""))
        out.print(plan)
    _show_errors(result.get("errors") or [])


def _show_errors(errors: list[dict]) -> None:
    if errors:
        table = Table("object", "reason", "fix", title="Errors", title_justify="left")
        for error in errors:
            table.add_row(shown(error.get("dn") or error.get("anchor")), shown(error.get("reason")),
                          shown(error.get("fix")))
        out.print(table)


def _show_history(runs: list[dict]) -> None:
    table = Table("run", "status", "mode", "trigger", "start", "end", "added", "updated", "deleted", "errors")
    for run in runs:
        c = run["counts"]
        values = (run["runId"], run["status"], run["mode"], run["trigger"], run["startTime"], run["endTime"],
                  *(c.get(k, "") for k in ("added", "updated", "deleted", "errors")))
        table.add_row(*(shown(v) for v in values))
    out.print(table)
    for run in runs:  # what a run could not tell (a notification unsent): under the table, not cut to a column
        for notice in run.get("notices") or []:
            out.print(Text.assemble((f"Run {run['runId']}:", "yellow"), " ", shown(notice)))


def _show_test(report: dict) -> None:
    _show_fields("DirSync verification")({k: v for k, v in report.items()
                                          if k not in ("errors", "lastRun", "schedule", "reasons")})
    for reason in report.get("reasons") or []:
        out.print(f"[yellow]Not healthy:[/] {reason}", highlight=False)
    _show_errors(report.get("errors") or [])


def _show_objects(reports: list[dict]) -> None:
    for report in reports:
        fields = {"Object": report["dn"], "Kind": report["kind"], "Anchor": report["anchor"],
                  "In Active Directory": report["inActiveDirectory"], "In scope": report["inScope"],
                  "Scope rule": report["scopeRule"], "Skipped": report["skipReason"],
                  "Cannot be written": " ".join(filter(None, (report["mappingError"], report["mappingFix"]))) or None,
                  "Account expires": report["expires"], "Manager": report["manager"],
                  "In the cloud": f"{report['cloudState']} {report['cloudId'] or ''}".strip(),
                  "Last written": (f"{report['lastWritten']} (run {report['lastRun']})"
                                   if report["lastWritten"] else None),
                  "Last result": report["lastResult"],
                  "Last error": " ".join(filter(None, (report["lastError"], report["lastFix"]))) or None,
                  "Would delete": report["wouldDelete"] or None,
                  "Would change": ", ".join(report["wouldChange"]) or None}
        _show_fields(report["identity"])({k: v for k, v in fields.items() if v is not None})
        if report["values"]:
            _show_fields("Values DirSync maps to Microsoft 365")(report["values"])
        if report["memberships"]:
            table = Table("group" if report["kind"] != "group" else "member", "in Active Directory", "in the cloud",
                          title="Memberships", title_justify="left")
            for m in report["memberships"]:
                table.add_row(shown(m["dn"]), shown(m["inActiveDirectory"]), shown(m["inCloud"]))
            out.print(table)


def _sync(args, events):
    if args.if_due and not schedule.is_due(Path(args.home) if args.home else config.home()):
        return None
    if args.log:  # one line per run that happens, not per cron wake-up
        out.print(f"=== {now()} {'scheduled' if args.scheduled else 'manual'} synchronization "
                  f"(process {os.getpid()})", markup=False, highlight=False)
    return service.start_sync(full=args.full, preview=args.dry_run, allow_deletes=args.allow_deletes,
                              trigger=Trigger.scheduled if args.scheduled else Trigger.manual, objects=args.object,
                              wait=args.wait, take_over=args.take_over, events=events, home=args.home)


def _read_secret(path: str | None, prompt: str, stdin: bool) -> str | None:
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return None


def _configure(args, events):
    from . import wizard
    admin_password = ""
    if not args.what_if:
        if not (args.domain_controller and args.admin_user):
            raise InvalidArgumentError("The domain controller and its Enterprise Admin are needed.",
                                       fix="Give --domain-controller and --admin-user.")
        # The DC's certificate is checked before anyone types the Enterprise Admin password.
        wizard.check_domain_controller(domain_controller=args.domain_controller, port=args.port,
                                       transport=args.transport, domain_controller_ca_file=args.dc_ca_file,
                                       home=args.home, events=events)
        admin_password = _read_secret(None, f"Password for {args.admin_user}: ", args.admin_password_stdin) or ""
        if not admin_password:
            raise InvalidArgumentError("The Enterprise Admin password is needed to create DirSync's service account.",
                                       fix="Type it at the prompt, or pipe it in with --admin-password-stdin.")
    client_secret = None
    if args.client_id and not args.certificate_file:
        client_secret = _read_secret(args.client_secret_file, "Client secret: ", False)
    return wizard.configure_with_answers(
        tenant_id=args.tenant_id, client_id=args.client_id, authority_host=args.authority_host,
        graph_endpoint=args.graph_endpoint, tenant_ca_file=args.tenant_ca_file, certificate_file=args.certificate_file,
        domain_controller=args.domain_controller, port=args.port, transport=args.transport,
        domain_controller_ca_file=args.dc_ca_file, admin_user=args.admin_user or "", admin_password=admin_password,
        client_secret=client_secret, certificate_key_file=args.certificate_key_file,
        exchange_hybrid=args.exchange_hybrid, sync_now=not args.no_sync_now, use_device_code=args.device_code,
        what_if=args.what_if, home=args.home, events=events)


def _show_steps(result: dict) -> None:
    for step in result["whatIf"]:
        out.print(shown(f"What if: {step['action']} {step['target']}: {step['description']}"))


def _show_configured(result: dict) -> None:
    if "whatIf" in result:
        out.print(shown(f"Signed in as {result['signedInAs']}; nothing was changed."))
        return _show_steps(result)
    identity = result.get("cloudIdentity")
    if identity:
        out.print(shown(f"DirSync's app {identity['displayName']} ({identity['appId']}, "
                        f"{'created' if identity['created'] else 'updated'}); its certificate "
                        f"{identity['certificateThumbprint']} expires {identity['certificateExpires']}."))
    account = result["serviceAccount"]
    out.print(Text.assemble(("Configured.", "green"), shown(
        f" Service account {account['user']} ({'created' if account['created'] else 'password reset'}).")))
    _show_fields("DirSync schedule")(result["schedule"])
    if result.get("syncResult"):
        _show_run(result["syncResult"])


def _show_credential(result: dict) -> None:
    if "whatIf" in result:
        return _show_steps(result)
    removed = ", ".join(result["removedThumbprints"]) or "none"
    out.print(shown(f"DirSync's app {result['appId']} now signs in with certificate "
                    f"{result['certificateThumbprint']} (expires {result['certificateExpires']}); removed: {removed}."))


def _config_set(args, events):
    return service.change_settings(
        args.home, events, include_ous=args.include_ou, exclude_ous=args.exclude_ou,
        exclusion_attribute=args.exclusion_attribute, staging_mode=args.staging_mode, soft_match=args.soft_match,
        proxy=args.proxy, exchange_hybrid=args.exchange_hybrid,
        prevent_accidental_deletes=args.prevent_accidental_deletes, object_deletion_threshold=args.deletion_threshold,
        object_deletion_percentage=args.deletion_percentage,
        credential_expiry_warning_days=args.credential_warning_days, smtp_server=args.smtp_server,
        smtp_port=args.smtp_port, smtp_security=args.smtp_security, smtp_username=args.smtp_username,
        smtp_password=sys.stdin.readline().rstrip("\r\n") if args.smtp_password_stdin else None,
        smtp_ca_file=args.smtp_ca_file, notification_sender=args.notification_sender,
        notification_recipients=args.notification_recipient, failed_runs_in_a_row=args.failed_runs_in_a_row,
        system_log=args.system_log, system_log_address=args.system_log_address,
        system_log_facility=args.system_log_facility)


# (group, action) -> (handler, renderer for humans); action None for one-word commands
COMMANDS = {
    ("config", "show"): (lambda args, events: config.describe(args.home, events), _show_configuration),
    ("config", "set"): (_config_set, _show_configuration),
    ("schedule", "show"): (lambda args, events: schedule.describe(args.home, events), _show_fields("DirSync schedule")),
    ("schedule", "set"): (lambda args, events: schedule.change(args.interval_minutes, args.enabled, args.home, events),
                          _show_fields("DirSync schedule")),
    ("sync", None): (_sync, _show_run),
    ("object", "show"): (lambda args, events: service.describe_objects(args.identity, events, args.home),
                         _show_objects),
    ("history", None): (lambda args, events: service.sync_history(args.last, args.home), _show_history),
    ("test", None): (lambda args, events: service.test_sync(args.home, events), _show_test),
    ("configure", None): (_configure, _show_configured),
    ("credential", "update"): (lambda args, events: service.update_credential(args.home, events, args.what_if),
                               _show_credential),
    ("notify", "test"): (lambda args, events: service.send_test_notification(args.home),
                         lambda result: out.print(shown(f"A test message went to {', '.join(result['recipients'])} "
                                                        f"through {result['server']}:{result['port']}."))),
}

# Exit codes of `dirsync sync` by run status, for scripts and schedulers; any other status, 1: the run failed.
RUN_EXIT = {RunStatus.success: 0, RunStatus.skipped: 0, RunStatus.export_errors: 3}
NOT_HEALTHY_EXIT = 4  # `dirsync test`: the check ran, and found a reason (a monitoring script alerts on it)


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
    config_set = config_group.add_parser("set", parents=[common], help="change settings (Set-CoexistenceConfiguration, "
                                         "Set-PreventAccidentalDeletes); the interval: dirsync schedule set")
    config_set.add_argument("--include-ou", action="append", metavar="DN",
                            help="an OU to synchronize (repeat it; give '' alone for the whole domain)")
    config_set.add_argument("--exclude-ou", action="append", metavar="DN",
                            help="an OU never to synchronize (repeat it)")
    config_set.add_argument("--exclusion-attribute", metavar="ATTRIBUTE=VALUE", help="'' turns it off")
    config_set.add_argument("--staging-mode", type=_on_off, metavar="on|off")
    config_set.add_argument("--soft-match", type=_on_off, metavar="on|off")
    config_set.add_argument("--proxy", metavar="URL", help="'' for none")
    config_set.add_argument("--exchange-hybrid", type=_on_off, metavar="on|off")
    config_set.add_argument("--prevent-accidental-deletes", type=_on_off, metavar="on|off")
    config_set.add_argument("--deletion-threshold", type=int, metavar="N",
                            help="stop a run that would delete more than N objects")
    config_set.add_argument("--deletion-percentage", type=int, metavar="P",
                            help="stop a run that would delete more than P %% of the synchronized objects")
    config_set.add_argument("--credential-warning-days", type=int, metavar="N",
                            help="dirsync test warns N days before the app's certificate expires (default 30)")
    mail = config_set.add_argument_group("notifications: e-mail to the technical contact, one per incident")
    mail.add_argument("--smtp-server", metavar="HOST", help="the SMTP server ('' sends no e-mail)")
    mail.add_argument("--smtp-port", type=int, metavar="N", help="its port (default 587)")
    mail.add_argument("--smtp-security", choices=typing.get_args(config.SmtpSecurity),
                      help="STARTTLS (default) or TLS from the start (port 465); the certificate is always verified")
    mail.add_argument("--smtp-username", metavar="NAME", help="sign in as NAME ('' for no sign-in)")
    mail.add_argument("--smtp-password-stdin", action="store_true",
                      help="read the SMTP password from the first line of standard input (kept in the secrets store)")
    mail.add_argument("--smtp-ca-file", metavar="FILE", help="the CA of the server's certificate, if private")
    mail.add_argument("--notification-sender", metavar="ADDRESS", help="the From address")
    mail.add_argument("--notification-recipient", action="append", metavar="ADDRESS",
                      help="a recipient (repeat it; '' alone for none)")
    mail.add_argument("--failed-runs-in-a-row", type=int, metavar="N",
                      help="runs failing one after another that make an incident (default 3)")
    log = config_set.add_argument_group("the system log: one event per run")
    log.add_argument("--system-log", type=_on_off, metavar="on|off", help="write the events (default on)")
    log.add_argument("--system-log-address", metavar="ADDRESS",
                     help="'' for the system's own, a syslog socket path, or udp://host:port")
    log.add_argument("--system-log-facility", choices=typing.get_args(config.Facility), help="default daemon")

    schedule_group = groups.add_parser("schedule", help="the recurring synchronization").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    schedule_group.add_parser("show", parents=[common], help="show the schedule and the next run time")
    schedule_set = schedule_group.add_parser("set", parents=[common], help="change the interval, turn on or off")
    schedule_set.add_argument("--interval-minutes", type=int, help="minutes between runs (30 to 10080)")
    schedule_set.add_argument("--enabled", type=_on_off, metavar="on|off", help="register or remove the schedule")

    sync = groups.add_parser("sync", parents=[common], help="synchronize now (Start-OnlineCoexistenceSync)")
    sync.add_argument("--full", action="store_true", help="read every object, not only the changes")
    sync.add_argument("--dry-run", action="store_true", help="show the plan and write nothing")
    sync.add_argument("--allow-deletes", action="store_true", help="let this run pass the deletion threshold")
    sync.add_argument("--object", action="append", metavar="IDENTITY",
                      help="synchronize only this object now (sAMAccountName, UPN, DN or objectGUID; repeatable)")
    sync.add_argument("--wait", action="store_true", help="if a run is going, wait for it to end instead of refusing")
    sync.add_argument("--take-over", action="store_true",
                      help="become the active server in place of another one that is gone (the standby's switch-over)")
    sync.add_argument("--scheduled", action="store_true", help="run as the scheduler does (history says so)")
    sync.add_argument("--if-due", action="store_true", help="run only if the interval has passed (cron)")
    sync.add_argument("--log", metavar="FILE", help="append the output to FILE (private, timestamped), as the "
                      "scheduler does")

    objects = groups.add_parser("object", help="one object of Active Directory and of the cloud").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    show = objects.add_parser("show", parents=[common], help="explain objects (Get-CoexistenceObject): in scope or "
                              "not and why, the values DirSync maps, the cloud object, pending changes, errors")
    show.add_argument("identity", nargs="+", help="sAMAccountName, userPrincipalName, distinguishedName or objectGUID")
    history = groups.add_parser("history", parents=[common], help="the runs, newest first")
    history.add_argument("--last", type=int, help="only the N most recent")
    groups.add_parser("test", parents=[common], help="verify synchronization (Test-CoexistenceSync)")

    configure = groups.add_parser(
        "configure", parents=[common], help="the configuration wizard, for scripts",
        description="Without --client-id an administrator signs in (a browser, or --device-code) and DirSync "
                    "creates its own app registration; with --client-id DirSync uses the app you registered.")
    configure.add_argument("--tenant-id", help="the tenant (with --client-id; else found by the sign-in)")
    configure.add_argument("--client-id", help="an app you registered yourself (else DirSync creates its own)")
    configure.add_argument("--device-code", action="store_true",
                           help="sign the administrator in with a code typed on another device")
    configure.add_argument("--what-if", action="store_true",
                           help="sign in and list what would be created in the tenant; change nothing")
    configure.add_argument("--certificate-file", help="your app's certificate (PEM)")
    configure.add_argument("--certificate-key-file", help="its private key (PEM), copied to the secrets store")
    configure.add_argument("--client-secret-file",
                           help="a file holding your app's client secret, instead of a certificate")
    configure.add_argument("--authority-host")
    configure.add_argument("--graph-endpoint")
    configure.add_argument("--tenant-ca-file")
    configure.add_argument("--domain-controller")
    configure.add_argument("--port", type=int)
    configure.add_argument("--transport", choices=["ldaps", "starttls"])
    configure.add_argument("--dc-ca-file")
    configure.add_argument("--admin-user", help="an Enterprise Admin (used once, never stored)")
    configure.add_argument("--admin-password-stdin", action="store_true", help="read the admin password from stdin")
    configure.add_argument("--exchange-hybrid", action="store_true")
    configure.add_argument("--no-sync-now", action="store_true", help="do not synchronize when done")

    credential = groups.add_parser("credential", help="DirSync's credential in Microsoft 365").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    update = credential.add_parser("update", parents=[common], help="replace the app's certificate "
                                   "(Update-CoexistenceCredential): add a new one, verify it, remove the old")
    update.add_argument("--what-if", action="store_true", help="list what would change; change nothing")

    notify = groups.add_parser("notify", help="e-mail to the technical contact").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    notify.add_parser("test", parents=[common], help="send a test message now (Send-CoexistenceTestNotification)")
    return parser


def _log_to(path: Path) -> None:
    """Everything this command prints goes to `path`: appended, private (0600), wide (a run adds its
    timestamped header: _sync)."""
    global out, err
    with writing(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # a log an older version let the shell create is 0644
    out = err = Console(file=os.fdopen(fd, "a", encoding="utf-8"), width=LOG_WIDTH, no_color=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "log", None):
        try:
            _log_to(Path(args.log))
        except DirSyncError as exc:
            err.print(f"[red]error:[/] {exc.message}\n[bold]fix:[/] {exc.fix}", highlight=False)
            return 1
    handler, render = COMMANDS[(args.group, getattr(args, "action", None))]
    try:
        with ConsoleEvents(args.verbose, show_progress=not args.json, stop_on_interrupt=args.group == "sync") as events:
            result = plain(handler(args, events))
    except DirSyncError as exc:
        if args.json:
            print(json.dumps({"error": exc.to_dict()}))
        else:
            err.print(Text.assemble(("error:", "red"), " ", shown(exc.message)))
            if exc.fix:
                err.print(Text.assemble(("fix:", "bold"), " ", shown(exc.fix)))
        return 2 if isinstance(exc, (ConfigurationError, NotConfiguredError, InvalidArgumentError,
                                     IdentityNotFoundError, IdentityAmbiguousError)) else 1
    except KeyboardInterrupt:
        err.print("[yellow]Stopped.[/]")
        return 130
    if result is None:  # `sync --if-due` when the interval has not passed yet
        return 0
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        render(result)
    if args.group == "sync" and isinstance(result, dict):
        return RUN_EXIT.get(RunStatus(result["status"]), 1)
    if args.group == "test" and isinstance(result, dict) and not result["healthy"]:
        return NOT_HEALTHY_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
