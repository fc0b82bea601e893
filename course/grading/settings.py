"""An instructor's settings, written once: ``course.toml`` in the grading workspace.

``course grade init DIR`` writes ``DIR/course.toml``; every ``course grade`` command
run in DIR (or a folder below it) then finds it, so ``--workspace`` need not be
repeated. Keys (all optional)::

    [grading]
    workspace = "."                   # relative to this file (default: its folder)
    db = "postgresql+psycopg2://grader@dbhost/fall26"   # default: SQLite gradebook.db there
    timeout = 30                      # seconds per cell
    release_dir = "release"           # where student versions go (default: <workspace>/release)
    roster = "roster.csv"             # id,first_name,last_name,email (nbgrader db student import)
    root = "/path/to/the/course"      # the course folder with solutions/ and autograder/

    [due]                             # due dates, ISO 8601; a zone is needed (UTC if none)
    a1_convolution = "2026-10-01T23:59:00+02:00"

    [late]                            # the late policy (course.grading.late.LatePolicy)
    percent_per_day = 10              # of the score, per started day late
    grace_minutes = 15
    max_days = 5                      # later than this scores 0

Precedence: a command-line option, then an environment variable
(``COURSE_GRADING_WORKSPACE``, ``COURSE_GRADING_DB``, ...), then this file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

FILE = "course.toml"
ENV_SETTINGS = "COURSE_GRADING_SETTINGS"

TEMPLATE = '''# Grading settings for this workspace; see `course grade --help` and the README.
# Every `course grade` command run in this folder (or below it) reads this file.
[grading]
workspace = "."
{db}# timeout = 30                    # seconds per cell
# release_dir = "release"          # student versions (default: <workspace>/release)
# roster = "roster.csv"            # id,first_name,last_name,email
{root}
[due]
# a1_convolution = "2026-10-01T23:59:00+00:00"

[late]
percent_per_day = 0               # 0: late work is flagged, not penalised
grace_minutes = 0
# max_days = 5                    # later than this scores 0
'''


def _toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:          # Python 3.10
        import tomli as tomllib
    with open(path, "rb") as fh:
        return tomllib.load(fh)


@dataclass
class Settings:
    """What ``course.toml`` says (paths already resolved against its folder)."""

    file: Path | None = None
    workspace: Path | None = None
    db: str | None = None
    timeout: int | None = None
    release_dir: Path | None = None
    roster: Path | None = None
    root: Path | None = None
    due: dict = field(default_factory=dict)
    late: dict = field(default_factory=dict)


def find_file(start: Path | None = None) -> Path | None:
    """``course.toml`` in ``start`` (default: the current directory) or its nearest parent,
    or the file named by ``$COURSE_GRADING_SETTINGS``."""
    if os.environ.get(ENV_SETTINGS):
        return Path(os.environ[ENV_SETTINGS]).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / FILE).is_file():
            return folder / FILE
    return None


def load(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    data = _toml(path)
    base = path.parent
    g = data.get("grading", {})

    def rel(key):
        return (base / g[key]).resolve() if g.get(key) else None

    return Settings(file=path, workspace=rel("workspace") or base, db=g.get("db"),
                    timeout=int(g["timeout"]) if g.get("timeout") else None,
                    release_dir=rel("release_dir"), roster=rel("roster"), root=rel("root"),
                    due={k: str(v) for k, v in data.get("due", {}).items()},
                    late=dict(data.get("late", {})))


def for_workspace(workspace: Path) -> Settings:
    """The settings of a workspace given explicitly (its own course.toml, if any)."""
    f = Path(workspace) / FILE
    return load(f) if f.is_file() else Settings()


def write_template(folder: Path, db: str | None = None, root: Path | None = None) -> Path:
    """Create ``folder/course.toml`` (refuses to overwrite one)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    if path.exists():
        raise FileExistsError(f"{path} exists already; edit it instead")
    path.write_text(TEMPLATE.format(db=f'db = "{db}"\n' if db else '# db = "postgresql+psycopg2://user@host/grades"\n',
                                    root=f'root = "{root}"' if root else "# root = \"/path/to/the/course\""))
    return path
