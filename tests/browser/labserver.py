"""A real JupyterLab (or Voila) server on loopback, for browser tests and the
browser benchmark.

Plain Python, no pytest: ``tests/browser/conftest.py`` and
``benchmarks/bench_browser.py`` both use it.

    server = LabServer(root_dir, work_dir).start()   # waits for GET /api/status
    server.url("lab/tree/01.ipynb?reset")
    server.stop()                                    # by process id, kernels too

Facts this relies on (measured, see ../shared/notes/browser-testing.md):
- as root JupyterLab needs ``--allow-root``;
- its own ``JUPYTERLAB_SETTINGS_DIR`` with ``fetchNews: "false"`` keeps the
  news pop-up from covering the page;
- its own ``JUPYTERLAB_WORKSPACES_DIR`` keeps old tabs from being restored;
- ``expose_app_in_browser`` gives tests ``window.jupyterapp`` to wait on the
  kernel status.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from course.jupyter.websocket import LAB_OPTION as NODELAY_OPTION

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]


def chromium_missing_message() -> str | None:
    """None when Debian's chromium is installed, else why the tests cannot run."""
    if os.path.exists(CHROMIUM):
        return None
    return (f"{CHROMIUM} not found: browser tests drive Debian's chromium "
            "(`apt-get install chromium`; `playwright install` cannot download here)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, log: Path | None = None):
    """Wait until something accepts connections on ``port`` (no HTTP request)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening "
                               f"on port {port}" + _tail(log))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} after {timeout:.0f} s" + _tail(log))


def _tail(log: Path | None, n: int = 3000) -> str:
    if log is None or not log.exists():
        return ""
    return "\n--- server log (tail) ---\n" + log.read_text(errors="replace")[-n:]


def _write_lab_settings(settings_dir: Path):
    """Lab settings that keep pop-ups off the page (news, update checks)."""
    plugin = settings_dir / "@jupyterlab" / "apputils-extension"
    plugin.mkdir(parents=True, exist_ok=True)
    (plugin / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def stop_process_tree(proc: subprocess.Popen, timeout: float = 10.0):
    """Stop ``proc`` and the processes it started (its kernels), by process id.

    SIGTERM makes jupyter_server (and Voila) shut their kernels down; a kernel
    still alive a few seconds later is killed by its own pid (needs psutil,
    which IPython already requires)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - IPython depends on psutil
        psutil = None

    if proc.poll() is not None:
        return
    children = []
    if psutil is not None:
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
    proc.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down on SIGTERM
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
    if not children:
        return
    _, alive = psutil.wait_procs(children, timeout=3)
    for child in alive:  # a kernel that outlived its server
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


class LabServer:
    """JupyterLab serving ``root_dir`` on a free loopback port, without a token.

    ``work_dir`` receives the settings, workspaces and the server log. ``nodelay``:
    kernel messages through ``course.jupyter.websocket.NoDelayConnection`` (as ``make
    lab``; the websocket benchmark compares without); ``extra_args``: more options.
    """

    def __init__(self, root_dir: Path, work_dir: Path, extra_args: tuple[str, ...] = (),
                 nodelay: bool = True):
        self.root_dir = Path(root_dir)
        self.work_dir = Path(work_dir)
        self.extra_args = list(extra_args) + ([NODELAY_OPTION] if nodelay else [])
        self.port = free_port()
        self.log_path = self.work_dir / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", f"--ServerApp.root_dir={self.root_dir}",
               "--ServerApp.open_browser=False", "--LabApp.expose_app_in_browser=True"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd + self.extra_args

    def env(self) -> dict:
        settings, workspaces = self.work_dir / "lab-settings", self.work_dir / "lab-workspaces"
        _write_lab_settings(settings)
        workspaces.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
                   PYDEVD_DISABLE_FILE_VALIDATION="1")
        # The kernel runs this interpreter (the venv), so `course` imports.
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        return env

    def start(self, timeout: float = 60.0) -> "LabServer":
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), cwd=self.root_dir, env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float):
        """Poll GET /api/status: Lab answers it once the server is up (~5 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode}"
                                   + _tail(self.log_path))
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"JupyterLab not ready after {timeout:.0f} s" + _tail(self.log_path))

    def stop(self):
        if self.proc is not None:
            stop_process_tree(self.proc)


def copy_tree(src: Path, dst: Path, pattern: str = "*.ipynb") -> list[Path]:
    """Copy the notebooks matching ``pattern`` (JupyterLab autosaves: never test originals)."""
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for nb in sorted(Path(src).glob(pattern)):
        shutil.copy2(nb, dst / nb.name)
        out.append(dst / nb.name)
    return out
