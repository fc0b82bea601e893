"""Fixtures for the browser tests: Debian's chromium driven by Playwright, and a
real JupyterLab server on loopback serving temporary copies of the lectures.

Without /usr/bin/chromium the browser tests skip with a message, unless
``COURSE_REQUIRE_BROWSER=1`` (set by ``.ci/run``): then they fail.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import labserver
from labserver import REPO, LabServer, chromium_missing_message

ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


def _require_chromium():
    missing = chromium_missing_message()
    if missing is None:
        return
    if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"COURSE_REQUIRE_BROWSER=1 but {missing}", pytrace=False)
    pytest.skip(f"browser tests skipped: {missing}")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, with Debian's chromium (``playwright
    install`` cannot download a browser on these machines)."""
    _require_chromium()
    return {**browser_type_launch_args, "executable_path": labserver.CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 2000}}


def pytest_configure(config):
    # pytest-base-url (a pytest-playwright dependency) defines its session fixture
    # as a method; the deprecation is theirs, not ours.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Folder (git-ignored) for one screenshot per interaction, named
    ``<notebook>-<Explorer>-<step>-<what>.png``; each run overwrites its own."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab serving a temporary copy of lectures/ (it autosaves: never the originals).

    Its own settings (no news pop-up) and workspaces (no restored tabs), a free
    port, no token; stopped by process id at the end, with its kernels.
    """
    _require_chromium()
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(REPO / "lectures", root / "lectures",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = LabServer(root, tmp_path_factory.mktemp("lab-work")).start()
    yield server
    server.stop()
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(server.log_path, ARTIFACTS / "jupyterlab.log")
