"""Where grading happens: the course's nbgrader configuration plus the instructor workspace.

``configure(workspace=None, db=None, timeout=None)`` sets the environment
variables ``autograder/nbgrader_config.py`` reads (so plain ``nbgrader`` commands
in a shell with the same variables see the same course), puts the venv's
``bin`` on ``PATH`` (nbgrader runs ``alembic`` when it creates a gradebook),
and returns a :class:`Workspace` with the loaded traitlets config.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ENV_WORKSPACE = "COURSE_GRADING_WORKSPACE"
ENV_DB = "COURSE_GRADING_DB"
ENV_TIMEOUT = "COURSE_GRADING_TIMEOUT"
ENV_RELEASE = "COURSE_GRADING_RELEASE"
ENV_CONFIG = "COURSE_NBGRADER_CONFIG"
ENV_LATE = "COURSE_GRADING_LATE"


class GradingError(RuntimeError):
    """A step could not run at all (as opposed to a problem with one submission)."""


def repo_root() -> Path:
    """The course folder holding ``autograder/`` and ``solutions/`` (see ``course.paths``:
    ``--root``, ``$COURSE_ROOT``, the checkout, or the current directory and its parents)."""
    from course.paths import course_root

    return course_root(need="autograder")


def config_file() -> Path:
    path = Path(os.environ.get(ENV_CONFIG) or repo_root() / "autograder" / "nbgrader_config.py")
    if not path.is_file():
        raise FileNotFoundError(f"nbgrader configuration not found at {path}; set {ENV_CONFIG}")
    return path


@dataclass
class Workspace:
    config: object                 # traitlets Config
    settings: object = None        # course.grading.settings.Settings (course.toml), if any

    @property
    def coursedir(self):
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config)

    @property
    def root(self) -> Path:
        return Path(self.coursedir.root)

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    def path(self, step: str, student: str, assignment: str) -> Path:
        cd = self.coursedir
        return Path(cd.format_path(getattr(cd, f"{step}_directory"), student, assignment))

    def step_dir(self, step: str) -> Path:
        """The folder of one nbgrader step (``submitted``, ``autograded``, ``feedback``, ...)."""
        return self.root / getattr(self.coursedir, f"{step}_directory")

    def api(self):
        from nbgrader.apps import NbGraderAPI

        return NbGraderAPI(config=self.config)

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.coursedir.course_id)

    def notebooks(self, assignment: str) -> list[str]:
        """Notebook names (no extension) of the released assignment."""
        release = self.path("release", ".", assignment)
        names = sorted(p.stem for p in release.glob("*.ipynb"))
        if not names:
            raise GradingError(f"no released notebooks in {release}: run `course grade release {assignment}` first")
        return names

    # -- flags kept outside nbgrader's gradebook (collect / autograde problems) --
    def _flags_file(self, assignment: str) -> Path:
        return self.root / "flags" / f"{assignment}.json"

    def stage_flags(self, assignment: str) -> dict:
        f = self._flags_file(assignment)
        return json.loads(f.read_text()) if f.is_file() else {}

    def set_stage_flags(self, assignment: str, stage: str, flags: dict[str, list[dict]],
                        students: list[str] | None = None) -> None:
        """Replace the ``stage`` flags of ``students`` (default: the keys of ``flags``)."""
        data = self.stage_flags(assignment)
        for student in (students if students is not None else list(flags)):
            kept = [f for f in data.get(student, []) if f.get("stage") != stage]
            kept += [dict(f, stage=stage) for f in flags.get(student, [])]
            if kept:
                data[student] = kept
            else:
                data.pop(student, None)
        f = self._flags_file(assignment)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(data, indent=1, sort_keys=True))

    def flags(self, assignment: str, student: str) -> list[dict]:
        """All flags of a submission: collect/autograde stage flags + those in the graded notebooks."""
        import nbformat

        from course.grading.preprocessors import notebook_flags

        out = list(self.stage_flags(assignment).get(student, []))
        graded = self.path("autograded", student, assignment)
        for nb_path in sorted(graded.glob("*.ipynb")):
            try:
                out += notebook_flags(nbformat.read(nb_path, as_version=4))
            except Exception:  # an unreadable graded copy is itself worth a flag
                out.append({"kind": "error", "cell": nb_path.name, "detail": "graded notebook unreadable"})
        return out


def quiet_warnings() -> None:
    """nbgrader 0.9 makes SQLAlchemy warn "... not in session" on every command; scores are right."""
    import warnings

    warnings.filterwarnings("ignore", message=r".*not in session.*")
    warnings.filterwarnings("ignore", message=r".*will not be merged.*")


class NoWorkspace(GradingError):
    """No grading workspace was named: nothing is written until one is."""


def _workspace_settings(workspace):
    """The workspace folder and its ``course.toml`` settings, by precedence:
    the argument, ``$COURSE_GRADING_WORKSPACE``, a ``course.toml`` found from the
    current directory. None of them: ``NoWorkspace`` (never a default inside the
    course's checkout)."""
    from course.grading import settings

    if workspace is not None or os.environ.get(ENV_WORKSPACE):
        folder = Path(workspace if workspace is not None else os.environ[ENV_WORKSPACE]).resolve()
        return folder, settings.for_workspace(folder)
    found = settings.load(settings.find_file())
    if found.workspace is None:
        raise NoWorkspace(
            "no grading workspace: create one once with `course grade init DIR` and run the commands "
            "inside DIR (they find DIR/course.toml), or pass --workspace DIR, or set "
            f"{ENV_WORKSPACE}=DIR. Grades and student work never go inside the course's folder.")
    return found.workspace, found


def configure(workspace: str | os.PathLike | None = None, db: str | None = None,
              timeout: int | None = None, release_dir: str | os.PathLike | None = None) -> Workspace:
    """Set up the environment for nbgrader and load the course configuration.

    Each setting comes from the argument, else its environment variable, else the
    workspace's ``course.toml`` (see ``course.grading.settings``). The release folder
    defaults to ``<workspace>/release``.
    """
    from traitlets.config.loader import PyFileConfigLoader

    from course.paths import ENV_ROOT

    quiet_warnings()
    folder, found = _workspace_settings(workspace)
    os.environ[ENV_WORKSPACE] = str(folder)
    def put(env, explicit, from_file):
        if explicit is not None:
            os.environ[env] = str(explicit)
        elif env not in os.environ and from_file is not None:
            os.environ[env] = str(from_file)

    put(ENV_DB, db, found.db)
    put(ENV_TIMEOUT, int(timeout) if timeout is not None else None, found.timeout)
    put(ENV_RELEASE, Path(release_dir).resolve() if release_dir is not None else None, found.release_dir)
    put(ENV_ROOT, None, found.root)
    os.environ.setdefault(ENV_RELEASE, str(folder / "release"))
    os.environ[ENV_LATE] = json.dumps(found.late)
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    path = config_file()
    config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    Path(config.CourseDirectory.root).mkdir(parents=True, exist_ok=True)
    return Workspace(config, found)
