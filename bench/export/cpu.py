#!/usr/bin/env python3
"""Run a command and log the CPU time (user + system) it used: the floor's CPU per row.

cpu.py --label L --log FILE -- COMMAND ...     appends {"label": L, "cpu_s": ...} to FILE
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    done = subprocess.run(command)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(args.log, "a") as log:
        log.write(json.dumps({"label": args.label, "cpu_s": round(used.ru_utime + used.ru_stime, 3)}) + "\n")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
