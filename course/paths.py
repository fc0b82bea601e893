"""Where the course's folders are: ``lectures/``, ``solutions/``, ``assignments/``, ``autograder/``.

The package works from a source checkout (``pip install -e .``) and from an
installed wheel. An installed wheel holds only the Python package, so commands
that need the course's notebooks (``course explore`` for the lecture titles,
``course grade`` for ``solutions/`` and the nbgrader configuration) look for a
*course folder* — one holding ``lectures/`` or ``autograder/`` — in this order:

1. an explicit ``--root DIR`` (or ``course_root(DIR)``);
2. the environment variable ``COURSE_ROOT``;
3. the checkout this package was imported from (``course/..``);
4. the current directory and its parents.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_ROOT = "COURSE_ROOT"
__all__ = ["ENV_ROOT", "course_root", "find_course_root"]


def _candidates(explicit):
    if explicit:
        yield Path(explicit)
        return
    if os.environ.get(ENV_ROOT):
        yield Path(os.environ[ENV_ROOT])
        return
    yield Path(__file__).resolve().parent.parent
    here = Path.cwd().resolve()
    yield here
    yield from here.parents


def find_course_root(explicit=None, need: str = "lectures") -> Path | None:
    """The first candidate folder that holds ``need`` (a sub-folder or file), or None."""
    for folder in _candidates(explicit):
        if (folder / need).exists():
            return folder.resolve()
    return None


def course_root(explicit=None, need: str = "lectures") -> Path:
    """Like ``find_course_root`` but raises a ``FileNotFoundError`` that says how to fix it."""
    found = find_course_root(explicit, need)
    if found is None:
        where = explicit or os.environ.get(ENV_ROOT) or f"{Path(__file__).resolve().parent.parent} or {Path.cwd()}"
        raise FileNotFoundError(
            f"no course folder holding {need}/ found (looked in {where}). Run the command inside the "
            f"course's folder (a clone of the repository), pass --root DIR, or set {ENV_ROOT}=DIR.")
    return found
