"""The ``course`` command (also ``python -m course``).

Each subcommand lives in its own module, which provides two functions:
``add_arguments(parser)`` and ``main(args) -> int`` (the exit code).

    course doctor            check the installation
    course check NB.ipynb    run a notebook's visible tests, print a score table
    course grade ...         instructor tools over nbgrader (release, collect, autograde, ...)
    course explore           serve the explorers as a standalone Voila app
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# subcommand -> (module, one-line help)
COMMANDS = {
    "doctor": ("course.doctor", "check the installation: versions, widget extension, GPU"),
    "check": ("course.selfcheck", "run a notebook's visible tests and print a score table"),
    "grade": ("course.grading.commands", "instructor tools over nbgrader: release, collect, autograde, feedback, export, report"),
    "explore": ("course.explore", "serve the explorers as a standalone Voila web app"),
}


def _available():
    """The subcommands whose module is installed (a missing one is not offered)."""
    found = {}
    for name, (module, help_) in COMMANDS.items():
        try:
            if importlib.util.find_spec(module) is not None:
                found[name] = (module, help_)
        except ModuleNotFoundError:  # its parent package is not there
            pass
    return found


class _Broken:
    """Stands in for a subcommand whose module failed to import."""

    def __init__(self, name, exc):
        self.name, self.exc = name, exc

    def main(self, args):
        print(f"course {self.name}: cannot start ({type(self.exc).__name__}: {self.exc}).\n"
              "Run `course doctor` to see what is missing, then `make venv` to reinstall.", file=sys.stderr)
        return 1


def build_parser() -> tuple[argparse.ArgumentParser, dict]:

    parser = argparse.ArgumentParser(prog="course", description="Interactive deep-learning course tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, (module_name, help_) in _available().items():
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a broken dependency must not take `course doctor` down with it
            p = sub.add_parser(name, help=f"{help_} [unavailable: {exc}]")
            modules[name] = _Broken(name, exc)
            continue
        p = sub.add_parser(name, help=help_, description=(module.__doc__ or help_).strip().splitlines()[0])
        module.add_arguments(p)
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:

    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(modules[args.command].main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
