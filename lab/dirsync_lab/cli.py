"""`dirsync-lab` (or `python3 -m dirsync_lab`): the demo lab and the local tenant.

    dirsync-lab up --dir DIR       start a seeded test domain and a local tenant; print what the wizard needs
    dirsync-lab approve --dir DIR  sign the lab's administrator in at the device code the wizard shows
    dirsync-lab show --dir DIR     list what is in the lab's tenant now
    dirsync-lab down --dir DIR     stop both and remove DIR
    dirsync-lab demo --dir DIR     the demo: a fresh lab, the wizard, a sync, its verification (--keep, --stop)
    dirsync-lab tenant serve|register-app|add-domain ...   run or administer a local tenant
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import demo
from .tenant.cli import add_cli as add_tenant_cli


def _up(args) -> int:
    print(json.dumps(demo.up(args.dir, with_app=args.with_app), indent=2))
    return 0


def _approve(args) -> int:
    print(demo.approve(args.dir, who=args.who, timeout=args.timeout, decline=args.decline))
    return 0


def _show(args) -> int:
    demo.show(args.dir)
    return 0


def _down(args) -> int:
    demo.down(args.dir)
    return 0


def _demo(args) -> int:
    try:
        if args.stop:
            demo.stop_demo(args.dir)
            return 0
        status = demo.run_demo(args.dir, module=args.module, keep=args.keep)
    except demo.DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if status == 0 and args.keep:
        folder = args.dir.resolve()
        print(f"\nThe lab is still running; its addresses and passwords are in {folder / 'lab' / 'lab.json'}.\n"
              f"Explore it: DIRSYNC_HOME={folder / 'home'} pwsh -NoExit -File {demo.config_shell(args.module)}\n"
              f"Stop it: dirsync-lab demo --stop --dir {args.dir}")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dirsync-lab",
                                     description="DirSync's lab: the demo lab and the local tenant.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, run, text in (("up", _up, "start the demo lab: a seeded Samba AD domain and a local tenant"),
                            ("show", _show, "list what is in the demo lab's tenant now"),
                            ("down", _down, "stop the demo lab and remove its folder")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--dir", required=True, type=Path, help="the lab's folder")
        command.set_defaults(run=run)
        if name == "up":
            command.add_argument("--with-app", action="store_true",
                                 help="also register an app for DirSync, as for the wizard's \"bring your own app\"")
    approve = commands.add_parser("approve", help="sign the lab's administrator in at the device code DirSync shows")
    approve.add_argument("--dir", required=True, type=Path, help="the lab's folder")
    approve.add_argument("--who", choices=["administrator", "appAdministrator"], default="administrator")
    approve.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a device code")
    approve.add_argument("--decline", action="store_true", help="press Cancel instead")
    approve.set_defaults(run=_approve)
    run_demo = commands.add_parser("demo", help="the demo: a fresh lab, then in pwsh the wizard, "
                                   "Start-OnlineCoexistenceSync and Test-CoexistenceSync")
    run_demo.add_argument("--dir", required=True, type=Path, help="the demo's folder (its lab/ and DirSync home/)")
    run_demo.add_argument("--module", default="DirSync", help="the DirSync module to import: a name (default "
                          "DirSync, the installed module) or a .psd1 path")
    ending = run_demo.add_mutually_exclusive_group()
    ending.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    ending.add_argument("--stop", action="store_true", help="stop a kept demo and remove its folder")
    run_demo.set_defaults(run=_demo)
    add_tenant_cli(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
