"""The layout CONTRIBUTING.md promises: every assignment has its checker and its
committed student release; every topic module is named in the package docstring;
project docs link nothing outside the repository."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import course

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_has_its_checker_and_its_release(assignment):
    assert (ROOT / "solutions" / assignment / f"{assignment}.ipynb").is_file()
    assert (ROOT / "course" / "checkers" / f"{assignment}.py").is_file(), (
        f"solutions/{assignment}/ has no checker: add course/checkers/{assignment}.py")
    assert (ROOT / "assignments" / assignment / f"{assignment}.ipynb").is_file(), (
        f"run `make release` and commit assignments/{assignment}/")


def test_every_public_module_is_listed_in_the_package_docstring():
    modules = sorted({p.stem for p in (ROOT / "course").glob("*.py") if not p.stem.startswith("_")} |
                     {p.name for p in (ROOT / "course").iterdir() if (p / "__init__.py").is_file()})
    missing = [m for m in modules if f"``course.{m}``" not in course.__doc__ and m not in ("cli", "doctor", "explore",
                                                                                            "paths")]
    assert not missing, f"course/__init__.py's docstring does not list: {missing}"


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md", "autograder/nbgrader_config.py"])
def test_docs_link_nothing_outside_the_repository(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert not re.search(r"\.\./shared|\(\.\./", text), f"{doc} points outside the repository"


def test_the_two_cli_modules_have_different_names():
    assert not (ROOT / "course" / "grading" / "cli.py").exists()
    assert not ((ROOT / "course" / "checkers" / "check.py").exists() and (ROOT / "course" / "checkers" / "checks.py").exists())
