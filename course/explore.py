"""Serve every explorer of the course as a standalone Voila web app (no code cells).

    course explore                    # http://127.0.0.1:8866/ (loopback only)
    course explore --port 9000
    course explore --write app.ipynb  # only write the app notebook, do not serve

The app notebook is generated at run time, so a new unit's explorers appear in
it without editing this file: every ``Explorer`` subclass in ``course.widgets``
is shown, grouped under the lecture that uses it, in lecture order
(``lectures/NN_*.ipynb`` of a checkout); explorers no lecture uses come last. Voila executes
the notebook in a fresh kernel and strips the code cells, so a visitor sees the
headings, the captions and the live widgets.
"""
from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "course_explorers.ipynb"
DEFAULT_PORT = 8866

INTRO = """\
# Deep-learning course: the explorers

Every explorer of the course on one page. Each one starts with a line of what to
try; change a control and watch the output update. The code lives in the lecture
notebooks (`lectures/`); this page only shows the widgets.
"""


@dataclass(frozen=True)
class ExplorerEntry:
    """One explorer: where its class lives and which lecture uses it."""

    module: str         # "course.widgets.conv"
    name: str           # "KernelExplorer"
    lecture: str        # "01_convolution_kernels.ipynb" or "" when no lecture uses it
    lecture_title: str  # first heading of that lecture


def find_explorers() -> dict[str, str]:
    """{class name: module} for every ``Explorer`` subclass in ``course.widgets``."""
    import course.widgets as package
    from course.widgets._base import Explorer

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, Explorer) and obj is not Explorer
                    and obj.__module__ == module.__name__):
                found[name] = module.__name__
    return found


def _lecture_title(nb: dict, fallback: str) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^#\s+(.+)$", "".join(cell.get("source", "")), re.MULTILINE)
            if m:
                return m.group(1).strip()
    return fallback


def explorers_by_lecture(lectures: Path | None = None) -> list[ExplorerEntry]:
    """Every explorer once, in the order the lectures first use them.

    ``lectures``: the lectures folder (default: ``lectures/`` of the course folder,
    see ``course.paths``); without one, the explorers are listed without lectures.
    """
    from course.paths import find_course_root

    if lectures is None:
        root = find_course_root()
        lectures = root / "lectures" if root else None
    classes = find_explorers()
    entries, seen = [], set()
    for path in sorted(lectures.glob("[0-9]*.ipynb")) if lectures else []:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = "\n".join("".join(c.get("source", "")) for c in nb.get("cells", [])
                         if c.get("cell_type") == "code")
        title = _lecture_title(nb, path.stem)
        for name in re.findall(r"\b(\w+)\s*\(", code):
            if name in classes and name not in seen:
                seen.add(name)
                entries.append(ExplorerEntry(classes[name], name, path.name, title))
    for name in sorted(set(classes) - seen):
        entries.append(ExplorerEntry(classes[name], name, "", "More explorers"))
    return entries


def app_notebook(entries: list[ExplorerEntry]) -> dict:
    """The Voila app: an intro, then per lecture a heading and one cell per explorer."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["title"] = "Deep-learning course: explorers"
    cells = [nbformat.v4.new_markdown_cell(INTRO)]
    section = None
    for e in entries:
        if e.lecture_title != section:
            section = e.lecture_title
            source = f"## {section}"
            if e.lecture:
                source += f"\n\nFrom `lectures/{e.lecture}`."
            cells.append(nbformat.v4.new_markdown_cell(source))
        cells.append(nbformat.v4.new_markdown_cell(f"### {_words(e.name)}"))
        cells.append(nbformat.v4.new_code_cell(f"from {e.module} import {e.name}\n{e.name}()"))
    nb.cells = cells
    return nb


def _words(class_name: str) -> str:
    """'ConvArithmeticExplorer' -> 'Conv arithmetic explorer', 'SGDExplorer' -> 'SGD explorer'."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+", class_name)
    if not words:
        return class_name
    return " ".join([words[0]] + [w if w.isupper() else w.lower() for w in words[1:]])


def write_app(path: Path) -> list[ExplorerEntry]:
    """Write the app notebook to ``path``; returns what it shows."""
    import nbformat

    entries = explorers_by_lecture()
    if not entries:
        raise RuntimeError("no explorers found in course.widgets: nothing to serve")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(app_notebook(entries), str(path))
    return entries


#: The JupyterLab extensions the app needs: the widget manager and Voila's own
#: bridge to it. Others installed in the same environment (nbgrader's, the
#: notebook's) expect the full Lab and fail in Voila with console errors.
EXTENSIONS = ["@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager7",
              "@voila-dashboards/widgets-manager8",
              "anywidget"]  # the explorers' canvas view (course.widgets.canvas.ImageView)

#: A Jupyter data folder of the package's own, with the Voila template ``course``
#: (``voila/templates/course/``): Voila's lab template without its links to a CDN,
#: so that the page makes no request outside the server.
JUPYTER_DATA = Path(__file__).parent / "jupyter"
TEMPLATE = "course"


def voila_argv(notebook: Path, port: int) -> list[str]:
    """Voila on loopback, no browser, code cells stripped (Voila's default), the
    ``course`` template (found once ``JUPYTER_DATA`` is on ``$JUPYTER_PATH``), kernel
    messages sent at once (``course.jupyter.websocket``)."""
    from course.jupyter.websocket import VOILA_OPTION

    return [str(notebook), "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
            VOILA_OPTION,
            "--Voila.port_retries=0", "--VoilaConfiguration.strip_sources=True",
            "--VoilaConfiguration.show_tracebacks=True",
            f"--VoilaConfiguration.template={TEMPLATE}",
            *(f"--VoilaConfiguration.extension_allowlist={name}" for name in EXTENSIONS)]


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    parser.add_argument("--write", metavar="PATH", type=Path,
                        help="write the app notebook to PATH and exit without serving")
    parser.add_argument("--root", metavar="DIR", type=Path,
                        help="the course folder whose lectures/ order the explorers (default: found "
                             "from the package or the current directory, or $COURSE_ROOT)")


def main(args) -> int:
    if getattr(args, "root", None):
        from course.paths import ENV_ROOT

        os.environ[ENV_ROOT] = str(args.root.resolve())
    try:
        if args.write:
            entries = write_app(args.write)
            print(f"wrote {args.write}: {', '.join(e.name for e in entries)}")
            return 0
        with tempfile.TemporaryDirectory(prefix="course-explore-") as tmp:
            notebook = Path(tmp) / APP_NAME
            entries = write_app(notebook)
            print(f"course explore: {len(entries)} explorers "
                  f"({', '.join(e.name for e in entries)})\n"
                  f"open http://127.0.0.1:{args.port}/  (Ctrl-C to stop)", flush=True)
            from voila.app import Voila

            os.environ["JUPYTER_PATH"] = os.pathsep.join(  # where Voila looks for templates
                filter(None, [str(JUPYTER_DATA), os.environ.get("JUPYTER_PATH")]))
            Voila.launch_instance(argv=voila_argv(notebook, args.port))
    except (ImportError, RuntimeError) as exc:
        print(f"course explore: {exc}", file=sys.stderr)
        return 1
    return 0
