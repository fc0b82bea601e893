"""The student bundle: what students get instead of the repository.

``course grade release A`` writes it next to the release (default
``<workspace>/bundle/``, ``--bundle DIR``) as a folder and a zip
(``course-student.zip``):

    README.md                  how to install, open the notebooks and check them
    pyproject.toml             ``pip install -e .`` installs the course package and its dependencies
    environment.yml            the same for conda
    assignments/<A>/<A>.ipynb  every released assignment (the gradebook's), student version
    lectures/*.ipynb           the lectures
    course/                    the package the notebooks import (reference code, checkers,
                               ``course check``), without the instructor's tooling

Not in it: ``solutions/``, hidden tests (they exist only in ``solutions/``, and
the release has them stripped by nbgrader), ``tests/`` with the sample
submissions, ``autograder/``, ``benchmarks/``, and the instructor's part of
``course/grading`` (only ``preprocessors`` and ``sandbox`` stay, which ``course
check`` runs).  :func:`build` checks the result: a hidden-test marker or a
solution marker in any file of the bundle is an error.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from course.grading.workspace import GradingError, Workspace, repo_root

# course/grading modules a student needs (``course check`` runs RobustExecute)
STUDENT_GRADING = ("__init__.py", "preprocessors.py", "sandbox.py")
SECRET_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", "### BEGIN SOLUTION", "### END SOLUTION")
ARCHIVE = "course-student.zip"

README = """# {title}: student bundle

This folder is everything you need for the course: the lectures, the assignments
released so far, and the `course` package the notebooks import.

```bash
python -m venv .venv && . .venv/bin/activate
pip install -e .            # the course package and its dependencies (CPU PyTorch is enough)
jupyter lab                 # then open lectures/01_convolution_kernels.ipynb
```

Assignments are in `assignments/<name>/<name>.ipynb`. Fill in the cells marked
`YOUR CODE HERE` and check your work at any time, from the notebook's last cell
(`import course; course.check()`) or from a terminal:

```bash
course check assignments/{first}/{first}.ipynb
```

It runs the notebook's visible tests in a fresh kernel and prints a table: each test,
its points, pass/fail and the first line of the failure message. Hidden tests run
only when your instructor grades. Hand in the notebook file itself, under its name.
"""


def _ignore(folder, names):
    return [n for n in names if n in ("__pycache__", ".ipynb_checkpoints") or n.endswith((".pyc", ".pyo"))]


def released_assignments(ws: Workspace) -> list[str]:
    """Assignments recorded in the gradebook that have a released folder."""
    with ws.gradebook() as gb:
        names = [a.name for a in gb.assignments]
    return sorted(n for n in names if any(ws.path("release", ".", n).glob("*.ipynb")))


def build(ws: Workspace, assignment: str, dest: str | Path | None = None) -> tuple[Path, Path]:
    """Write the bundle folder and its zip; returns (folder, zip)."""
    import course

    root = repo_root()
    out = Path(dest) if dest else ws.root / "bundle"
    folder = out / "course-student"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    names = sorted(set(released_assignments(ws)) | {assignment})
    for name in names:
        release = ws.path("release", ".", name)
        if not any(release.glob("*.ipynb")):
            raise GradingError(f"no released notebooks in {release}: run `course grade release {name}` first")
        (folder / "assignments" / name).mkdir(parents=True)
        for nb in sorted(release.glob("*.ipynb")):
            shutil.copy2(nb, folder / "assignments" / name / nb.name)
    if (root / "lectures").is_dir():
        (folder / "lectures").mkdir()
        for nb in sorted((root / "lectures").glob("*.ipynb")):
            shutil.copy2(nb, folder / "lectures" / nb.name)
    package = Path(course.__file__).resolve().parent
    shutil.copytree(package, folder / "course", ignore=_ignore)
    grading = folder / "course" / "grading"
    for path in sorted(grading.iterdir()):
        if path.name not in STUDENT_GRADING:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for name in ("pyproject.toml", "environment.yml"):
        if (root / name).is_file():
            shutil.copy2(root / name, folder / name)
    (folder / "README.md").write_text(README.format(title="Deep learning from first principles", first=names[0]))
    leaks = secrets_in(folder)
    if leaks:
        shutil.rmtree(folder)
        raise GradingError("the student bundle would contain hidden tests or solutions: " + ", ".join(leaks[:5]))
    archive = out / ARCHIVE
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(out))
    return folder, archive


def secrets_in(folder: Path) -> list[str]:
    """Files under ``folder`` holding a hidden-test or solution marker."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".ipynb", ".py", ".md", ".txt", ".json", ".toml", ".yml"):
            text = path.read_text(errors="replace")
            if any(m in text for m in SECRET_MARKERS):
                found.append(str(path.relative_to(folder)))
    return found
