"""python3 -m dirsync_lab.testdomain start --dir DIR [--seed] | stop --dir DIR  (see the package doc)."""

from __future__ import annotations

import argparse
import json
import sys

from . import SambaDomain, TestDomainError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m dirsync_lab.testdomain",
                                     description="A Samba AD test domain on a loopback address.")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="provision and start a domain in DIR; print its facts as JSON")
    start.add_argument("--dir", required=True)
    start.add_argument("--seed", action="store_true", help="with the realistic seeded directory")
    start.add_argument("--address", help="loopback address to use (default: a free random 127.x.y.z)")
    stop = sub.add_parser("stop", help="stop the domain in DIR and remove DIR")
    stop.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            domain = SambaDomain.create(args.dir, seeded=args.seed, address=args.address)
            print(json.dumps(domain.facts(), indent=2))
        else:
            SambaDomain(args.dir).remove()
    except TestDomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
