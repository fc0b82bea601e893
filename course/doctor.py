"""Check the installation: versions, the widget extension, and the GPU.

``course doctor`` (or ``python -m course doctor``) prints one line per check
and exits non-zero, naming the fix, when something the course needs is broken.
"""
from __future__ import annotations

import importlib
import json
import platform
import sys
from pathlib import Path

# (import name, distribution name shown to the user)
REQUIRED = [
    ("numpy", "numpy"),
    ("matplotlib", "matplotlib"),
    ("torch", "torch"),
    ("ipywidgets", "ipywidgets"),
    ("jupyterlab", "jupyterlab"),
    ("nbgrader", "nbgrader"),
    ("nbclient", "nbclient"),
    ("sklearn", "scikit-learn"),
    ("tqdm", "tqdm"),
]
PINNED_TORCH = "2.13.0"
WIDGET_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
FIX = "Fix: run `make venv` (or `pip install -e .`) in the course folder, then `course doctor` again."


def package_versions() -> tuple[dict[str, str], dict[str, str]]:
    """Import each required package: ({name: version}, {name: error})."""
    versions, errors = {}, {}
    for module, dist in REQUIRED:
        try:
            versions[dist] = getattr(importlib.import_module(module), "__version__", "?")
        except Exception as exc:  # a broken package can raise anything on import
            errors[dist] = f"{type(exc).__name__}: {exc}"
    return versions, errors


def widget_extension() -> tuple[bool, str]:
    """Is the ipywidgets front-end extension installed and enabled in JupyterLab?"""
    from jupyter_core.paths import jupyter_config_path, jupyter_path

    found = [Path(d) / WIDGET_EXTENSION for d in jupyter_path("labextensions")
             if (Path(d) / WIDGET_EXTENSION / "package.json").is_file()]
    if not found:
        return False, f"{WIDGET_EXTENSION} is not installed (pip install jupyterlab_widgets)"
    for d in jupyter_config_path():
        page_config = Path(d) / "labconfig" / "page_config.json"
        if page_config.is_file():
            disabled = json.loads(page_config.read_text()).get("disabledExtensions", {})
            if disabled.get(WIDGET_EXTENSION) or WIDGET_EXTENSION in (disabled if isinstance(disabled, list) else []):
                return False, (f"{WIDGET_EXTENSION} is disabled in {page_config} "
                               f"(jupyter labextension enable {WIDGET_EXTENSION})")
    version = json.loads((found[0] / "package.json").read_text()).get("version", "?")
    return True, f"{WIDGET_EXTENSION} {version} enabled ({found[0].parent})"


def gpu() -> str:
    """Which accelerator torch sees (the course runs fully on the CPU without one)."""
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)} (torch CUDA {torch.version.cuda})"
    return "none (CPU only; the optional GPU cells fall back to the CPU)"


def sandbox() -> str:
    """Can `course grade autograde` sandbox student kernels here (bubblewrap)?  Not an error
    for students: only the instructor's grading machine needs it."""
    try:
        from course.grading.sandbox import sandbox_problem
    except ImportError:
        return "not part of this installation (the student bundle grades nothing)"
    problem = sandbox_problem()
    return "ok (bubblewrap: student kernels are sandboxed when grading)" if problem is None else \
        f"NOT AVAILABLE: {problem} (only needed to grade)"


def add_arguments(parser) -> None:
    parser.set_defaults()


def main(args=None) -> int:
    problems = []
    print(f"Python        {platform.python_version()} ({sys.executable})")
    versions, errors = package_versions()
    for module, dist in REQUIRED:
        if dist in versions:
            print(f"{dist:<14}{versions[dist]}")
        else:
            print(f"{dist:<14}BROKEN  {errors[dist]}")
            problems.append(f"{dist} cannot be imported ({errors[dist]})")
    torch_version = versions.get("torch", "")
    if torch_version and torch_version.split("+")[0] != PINNED_TORCH:
        print(f"note          torch {torch_version} is not the pinned {PINNED_TORCH}; results may differ slightly")
    if "jupyterlab" in versions:
        ok, message = widget_extension()
        print(f"widgets       {message}")
        if not ok:
            problems.append(message)
    if "torch" in versions:
        print(f"GPU           {gpu()}")
    print(f"sandbox       {sandbox()}")
    if problems:
        print("\nThe installation is broken:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        print(FIX, file=sys.stderr)
        return 1
    print("\nAll good: start with `make lab` and open lectures/01_convolution_kernels.ipynb.")
    return 0
