"""The framed block ``make run`` prints before Dagster's own logs: where to look, the password, how to stop.

make's echoed commands and Dagster's start-up logs scroll past quickly; a generated password printed
among them was easy to miss, and it is shown only once. So it goes in a box of its own.

    python -m restore_dagster.banner --ui URL --web URL --home DIR --password-note TEXT
"""
from __future__ import annotations

import argparse
import sys
import unicodedata


def _width(text: str) -> int:
    # Terminal columns: East Asian wide characters (a gallery path in Chinese) take two.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def framed(lines: list[str]) -> str:
    inner = max(_width(line) for line in lines)
    rows = [f"│  {line}{' ' * (inner - _width(line))}  │" for line in lines]
    return "\n".join(["┌" + "─" * (inner + 4) + "┐", *rows, "└" + "─" * (inner + 4) + "┘"])


def banner(ui: str, web: str, home: str, password_note: str) -> str:
    lines = [
        f"Dagster UI (assets, partitions, runs):  {ui}",
        f"Family web gallery (phones welcome):    {web}",
        f"Storage root:                           {home}",
        "",
        *[line.strip() for line in password_note.strip().splitlines() if line.strip()],
        "",
        "To stop Dagster and the web gallery: press Ctrl-C in this terminal.",
    ]
    return "\n" + framed(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ui", required=True)
    parser.add_argument("--web", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--password-note", default="")
    args = parser.parse_args(argv)
    sys.stdout.write(banner(args.ui, args.web, args.home, args.password_note) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
