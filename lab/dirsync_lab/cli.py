"""`dirsync-lab` (or `python3 -m dirsync_lab`): the demo lab and the local tenant.

    dirsync-lab up --dir DIR       start a seeded test domain and a local tenant; print what the wizard needs
    dirsync-lab approve --dir DIR  sign the lab's administrator in at the device code the wizard shows
    dirsync-lab show --dir DIR     list what is in the lab's tenant now
    dirsync-lab down --dir DIR     stop both and remove DIR
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
    add_tenant_cli(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
