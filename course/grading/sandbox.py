"""Every student kernel in a sandbox: Debian's ``bubblewrap`` plus resource limits.

nbgrader starts one kernel per submitted notebook through nbclient's kernel
manager; :class:`SandboxKernelManager` is that manager with the launch wrapped
(``Execute.kernel_manager_class``, set by :func:`configure_nbgrader` from
``autograder/nbgrader_config.py``).  Inside the sandbox the kernel sees:

- a read-only system (``/usr``, ``/etc``, the Python prefix and the venv), the
  ``course`` package its test cells import, and nothing else of the machine:
  no ``solutions/``, no hidden tests, no gradebook, no other student, no ``/root``
  or ``/home``;
- its own submission folder, read-only, as its working directory (notebook files
  there read as empty: the graded copy holds the restored hidden tests), and a private
  ``/tmp`` (an empty tmpfs) and ``HOME=/tmp``;
- only a copy of its connection file, and a private folder for its IPC sockets
  (network namespaces cut TCP, so the kernel talks over unix sockets,
  ``transport=ipc``; interrupts are sent as messages, ``interrupt_mode: message``);
- no network (``--unshare-net``: only a loopback that is down), a PID namespace
  of its own (when the kernel goes, Linux ends every process it forked, even
  those that called ``setsid``), no IPC or UTS shared with the host;
- an environment without the grader's variables (no database URL, no workspace,
  no ``JPY_PARENT_PID``);
- the grader's corpus cache, read-only, at ``/var/cache/course`` (``COURSE_CACHE_SHARED``):
  built once per machine, so a notebook that reads the course's text does not spend
  seconds of its time budget cleaning the corpus again in its empty ``/tmp``.

Limits (``prlimit``, per process) with what they become:

====================  ===========================  ==========================
limit                 what the student code sees   flag
====================  ===========================  ==========================
address space         ``MemoryError``              ``memory_limit``
CPU time              the kernel is killed         ``cpu_limit``
processes/threads     ``fork``: ``BlockingIOError``  ``too_many_processes``
file size             ``OSError: File too large``  ``output_too_large``
output (stdout)       the rest is dropped          ``output_too_large``
wall clock            the kernel is killed         ``timeout``
network               ``OSError``                  ``network_blocked``
====================  ===========================  ==========================

When the grader runs as root (containers, CI) the kernel also drops to a
user id of its own (``setpriv``), so that the process limit counts only the
processes of that one sandbox (Linux exempts root from it).

``sandbox_problem()`` says why the sandbox cannot run here (``None`` when it
can); ``course doctor`` prints it and ``course grade autograde`` refuses to
grade without a sandbox unless ``--no-sandbox`` is given.
"""
from __future__ import annotations

import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

ENV_SANDBOX = "COURSE_GRADING_SANDBOX"       # "1" (default where bwrap works) or "0"
ENV_LIMITS = "COURSE_GRADING_LIMITS"         # JSON of Limits fields
INSTALL = "apt-get install bubblewrap"
FLAG_KINDS = ("memory_limit", "cpu_limit", "too_many_processes", "output_too_large", "network_blocked",
              "timeout", "kernel_died", "tampered")

# Python code run as the kernel: record network attempts (an audit hook cannot be removed), then ipykernel.
_KERNEL_MAIN = r"""
import json, os, socket, sys
_events = os.environ.pop("COURSE_SANDBOX_EVENTS", "")
os.environ.pop("JPY_PARENT_PID", None)   # its parent in the PID namespace is pid 1: no poller
def _audit(event, args, _json=json, _socket=socket, _open=open, _path=_events):
    if event in ("socket.connect", "socket.sendto") and _path:     # not bind: urllib3 probes ('::1', 0) on import
        sock = args[0]
        if getattr(sock, "family", None) in (_socket.AF_INET, _socket.AF_INET6):
            try:
                with _open(_path, "a") as fh:
                    fh.write(_json.dumps({"kind": "network_blocked", "detail": f"{event} {args[1]!r}"}) + "\n")
            except Exception:
                pass
sys.addaudithook(_audit)
del _audit
from ipykernel.kernelapp import IPKernelApp
_app = IPKernelApp.instance()
_app.initialize()
def _memory(shell, etype, value, tb, tb_offset=None, _path=_events):
    import traceback
    traceback.clear_frames(tb)      # free what the failed code held before showing the error
    try:
        with open(_path, "a") as fh:
            fh.write('{"kind": "memory_limit", "detail": "MemoryError"}\n')
    except Exception:
        pass
    shell.showtraceback((etype, value, None), tb_offset=tb_offset)
_app.shell.set_custom_exc((MemoryError,), _memory)
_app.start()
"""


@dataclass
class Limits:
    """Resource limits of one sandboxed kernel (one submitted notebook)."""
    memory_mb: int = 2048          # address space per process
    cpu_s: int = 300               # CPU seconds (soft; killed 5 s later)
    processes: int = 128           # processes + threads of the sandbox's user
    file_mb: int = 64              # largest file it may write
    output_kb: int = 1024          # stdout/stderr/display kept per cell; the rest is dropped
    wall_s: int = 600              # wall clock per kernel

    @classmethod
    def from_env(cls) -> "Limits":
        raw = os.environ.get(ENV_LIMITS)
        values = json.loads(raw) if raw else {}
        return cls(**{f.name: int(values[f.name]) for f in fields(cls) if values.get(f.name) is not None})

    def to_env(self) -> str:
        return json.dumps(asdict(self))


# ----------------------------------------------------------------- availability
_PROBLEM: dict[str, str | None] = {}


def sandbox_problem() -> str | None:
    """Why the sandbox cannot run on this machine, naming the fix; None when it works."""
    if "p" in _PROBLEM:
        return _PROBLEM["p"]
    bwrap = shutil.which("bwrap")
    problem = None
    if sys.platform != "linux":
        problem = f"the sandbox needs Linux (bubblewrap); this is {sys.platform}"
    elif bwrap is None:
        problem = f"bubblewrap (bwrap) is not installed: `{INSTALL}` (Debian/Ubuntu) or your distribution's bubblewrap"
    elif shutil.which("prlimit") is None:
        problem = "prlimit (util-linux) is not installed: `apt-get install util-linux`"
    else:
        try:
            argv = _bwrap_base(Path(tempfile.gettempdir()), None) + ["--", "/bin/true"]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                problem = (f"bwrap cannot create a sandbox here ({proc.stderr.strip()[:200]}); allow "
                           "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) "
                           "or run the grader where they are allowed")
        except (OSError, subprocess.SubprocessError) as exc:
            problem = f"bwrap failed to start ({exc})"
    _PROBLEM["p"] = problem
    return problem


def enabled() -> bool:
    """Sandbox on?  ``COURSE_GRADING_SANDBOX=0`` turns it off; otherwise on wherever bwrap works."""
    return os.environ.get(ENV_SANDBOX, "1") != "0" and sandbox_problem() is None


def configure_nbgrader(c) -> None:
    """Called from ``autograder/nbgrader_config.py``: sandbox every kernel nbgrader starts.

    ``COURSE_GRADING_SANDBOX=1`` (what ``course grade autograde`` sends its workers) on a
    machine where bwrap cannot run is an error, never a silent fallback to no sandbox.
    """
    if os.environ.get(ENV_SANDBOX) == "1" and sandbox_problem():
        raise RuntimeError(f"{ENV_SANDBOX}=1 but the sandbox cannot run here: {sandbox_problem()}")
    if enabled():
        c.Execute.kernel_manager_class = "course.grading.sandbox.SandboxKernelManager"


# ----------------------------------------------------------------- the command
def _parents(path: str) -> list[str]:
    """``--dir`` for each missing ancestor, world-traversable (bwrap would make them 0700)."""
    out, parts = [], Path(path).parts[1:-1]
    for i in range(len(parts)):
        d = "/" + "/".join(parts[: i + 1])
        if d not in ("/tmp", "/usr", "/etc", "/opt", "/proc", "/dev"):
            out += ["--perms", "0755", "--dir", d]
    return out


def _ro(path: str | Path) -> list[str]:
    path = str(path)
    return _parents(path) + ["--ro-bind", path, path]


def _bwrap_base(tmp_parent: Path, cwd: str | None) -> list[str]:
    """bwrap with a read-only system and no view of the machine's files."""
    root = os.geteuid() == 0
    argv = ["bwrap", "--die-with-parent", "--new-session",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not root:
        argv.append("--unshare-user")
    for top in ("/usr", "/etc", "/opt"):
        if os.path.isdir(top):
            argv += _ro(top)
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += _ro(top)
    # /dev/shm: POSIX semaphores (multiprocessing, joblib) need a writable one, or they warn on stderr,
    # and nbgrader scores a test cell that wrote to stderr 0
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777",
             "--tmpfs", "/dev/shm"]
    for prefix in sorted({sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}):
        if not prefix.startswith(("/usr/", "/etc/", "/opt/")):
            argv += _ro(prefix)
    if root:
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    if cwd:
        argv += _ro(cwd)
        # nbgrader runs the notebook from the graded copy, which by then holds the hidden
        # tests restored from the gradebook: the kernel sees those files empty
        for name in sorted(os.listdir(cwd)):
            if name.endswith(".ipynb") and os.path.isfile(os.path.join(cwd, name)):
                argv += ["--ro-bind", "/dev/null", os.path.join(cwd, name)]
        argv += ["--chdir", cwd]
    return argv


SHARED_CACHE = "/var/cache/course"      # where a kernel sees the grader's corpus cache


@functools.lru_cache(maxsize=None)
def _corpus_cache() -> tuple[str, ...]:
    """The grader's corpus cache files (built on first use, once per machine)."""
    try:
        from course.data import text
        return tuple(str(p) for p in text.warm_cache())
    except Exception:       # no corpus on this machine (gensim missing): a kernel that needs it builds its own
        return ()


def _package_paths() -> list[str]:
    """The folders that must be importable in the kernel: the ``course`` package and
    anything on PYTHONPATH that is not the course folder itself (never solutions/ or tests/)."""
    import course

    pkg = Path(course.__file__).resolve().parent
    return [str(pkg)]


def sandbox_env(env: dict | None, events: str, pythonpath: str) -> dict:
    """A clean environment: none of the grader's variables (database URL, workspace)."""
    env = dict(env or os.environ)
    keep = {k: v for k, v in env.items()
            if k.startswith(("NBGRADER_", "LC_")) or k in ("LANG", "TERM", "COURSE_CHECK_RUNNING", "OMP_NUM_THREADS",
                                                          "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    keep.update(PATH=f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin", HOME="/tmp",
                TMPDIR="/tmp", PYTHONPATH=pythonpath, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg",
                MPLCONFIGDIR="/tmp/matplotlib", IPYTHONDIR="/tmp/ipython", COURSE_SANDBOX_EVENTS=events,
                COURSE_SANDBOXED="1", COURSE_CACHE_SHARED=SHARED_CACHE)
    return keep


def kernel_argv(kernel_cmd: list[str], cwd: str, box: Path, conn: Path, limits: Limits, uid: int | None) -> list[str]:
    """The bwrap + prlimit (+ setpriv) command line that runs ``kernel_cmd`` sandboxed."""
    argv = _bwrap_base(box.parent, cwd)
    parent = str(Path(_package_paths()[0]).parent)
    argv += _ro(_package_paths()[0])
    cache = _corpus_cache()
    argv += _parents(f"{SHARED_CACHE}/x") if cache else []
    for path in cache:
        argv += ["--ro-bind", path, f"{SHARED_CACHE}/{os.path.basename(path)}"]
    argv += _parents(str(box)) + ["--bind", str(box), str(box), "--remount-ro", "/"]
    # -f CONNECTION_FILE -> the copy in the box; "-m ipykernel_launcher" -> our launcher with the audit hook
    cmd = list(kernel_cmd)
    for i, arg in enumerate(cmd):
        if arg == "-f" and i + 1 < len(cmd):
            cmd[i + 1] = str(conn)
        elif arg.startswith("--f="):
            cmd[i] = f"--f={conn}"
    if "-m" in cmd and cmd[cmd.index("-m") + 1] == "ipykernel_launcher":
        i = cmd.index("-m")
        cmd[i:i + 2] = ["-c", _KERNEL_MAIN]
    mem = limits.memory_mb * 2 ** 20
    lim = ["prlimit", f"--as={mem}:{mem}", f"--cpu={limits.cpu_s}:{limits.cpu_s + 5}",
           f"--fsize={limits.file_mb * 2 ** 20}", f"--nproc={_nproc(limits, uid)}", "--core=0", "--"]
    drop = []
    if uid is not None:
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--"]
    return argv + ["--"] + lim + drop + cmd, parent


def _nproc(limits: Limits, uid: int | None) -> int:
    if uid is not None:
        return limits.processes         # a user id of its own: only this sandbox counts
    # unprivileged: the limit counts every process of the instructor's user
    try:
        mine = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid == os.getuid())
        threads = sum(int((p / "status").read_text().split("Threads:")[1].split()[0])
                      for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid == os.getuid())
        mine = max(mine, threads)
    except (OSError, IndexError, ValueError):
        mine = 0
    return mine + limits.processes


def classify(cell) -> list[tuple[str, str]]:
    """Flags (kind, detail) for sandbox violations visible in a cell's error outputs."""
    found = []
    for out in cell.get("outputs", []):
        if out.get("output_type") != "error":
            continue
        ename, evalue = out.get("ename", ""), str(out.get("evalue", ""))
        if ename == "MemoryError":
            found.append(("memory_limit", "ran out of its memory limit (MemoryError)"))
        elif ename == "BlockingIOError" or "Resource temporarily unavailable" in evalue:
            found.append(("too_many_processes", "hit the sandbox's process limit"))
        elif "File too large" in evalue or "[Errno 27]" in evalue:
            found.append(("output_too_large", "wrote a file larger than the sandbox allows"))
        elif "Network is unreachable" in evalue or ename in ("ConnectionRefusedError", "gaierror"):
            found.append(("network_blocked", f"tried the network: {ename}: {evalue[:80]}"))
    return found


# ----------------------------------------------------------------- kernel manager
class SandboxKernelManager(AsyncKernelManager):
    """nbclient's kernel manager with each kernel launched in bwrap (see module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limits = Limits.from_env()
        self.sandbox_flags: list[tuple[str, str]] = []
        self._box: Path | None = None
        self._timer: threading.Timer | None = None
        self._wall_hit = False
        self._started = 0.0

    async def _async_pre_start_kernel(self, **kw):
        self._box = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
        self.transport = "ipc"
        self.ip = str(self._box / "ipc" / "kernel")
        (self._box / "ipc").mkdir()
        spec = self.kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"       # no signals across the PID namespace
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        box = self._box
        uid = 200_000 + random.randrange(100_000) if os.geteuid() == 0 else None
        conn = box / "connection.json"
        shutil.copyfile(self.connection_file, conn)
        events = box / "events.jsonl"
        events.touch()
        cwd = os.path.realpath(kw.pop("cwd", None) or os.getcwd())
        argv, parent = kernel_argv(kernel_cmd, cwd, box, conn, self.limits, uid)
        if uid is not None:
            for p in (box, box / "ipc", conn, events):
                os.chown(p, uid, uid)
        os.chmod(conn, 0o400)
        kw["env"] = sandbox_env(kw.get("env"), str(events), parent)
        kw["cwd"] = str(box)
        self._started = time.monotonic()
        await super()._async_launch_kernel(argv, **kw)
        self._timer = threading.Timer(self.limits.wall_s, self._wall_clock)
        self._timer.daemon = True
        self._timer.start()

    def _wall_clock(self) -> None:
        self._wall_hit = True
        proc = getattr(self.provisioner, "process", None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)

    def death_reason(self) -> tuple[str, str]:
        """Why the kernel died: (flag kind, detail)."""
        if self._wall_hit:
            return "timeout", f"ran past the wall-clock limit of {self.limits.wall_s} s per notebook; killed"
        proc = getattr(self.provisioner, "process", None)
        code = proc.poll() if proc is not None else None
        if code in (128 + signal.SIGXCPU, -signal.SIGXCPU):
            return "cpu_limit", f"used more than {self.limits.cpu_s} s of CPU time; killed"
        if code in (128 + signal.SIGXFSZ, -signal.SIGXFSZ):
            return "output_too_large", f"wrote a file past {self.limits.file_mb} MB; killed"
        if code in (128 + signal.SIGKILL, -signal.SIGKILL) and \
                time.monotonic() - self._started > self.limits.cpu_s:
            return "cpu_limit", f"used more than {self.limits.cpu_s} s of CPU time; killed"
        return "kernel_died", "kernel died (os._exit, a crash, or killed); remaining cells scored 0"

    def _read_events(self) -> None:
        if self._box is None:
            return
        try:
            lines = (self._box / "events.jsonl").read_text(errors="replace").splitlines()[:50]
        except OSError:
            lines = []
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("kind") == "network_blocked":
                self.sandbox_flags.append(("network_blocked", f"tried to open a network connection "
                                                              f"({str(ev.get('detail', ''))[:100]}); blocked"))
            elif ev.get("kind") == "memory_limit":
                self.sandbox_flags.append(("memory_limit", f"ran out of its {self.limits.memory_mb} MB "
                                                           "memory limit (MemoryError)"))

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._read_events()
        await super()._async_cleanup_resources(restart=restart)
        if self._box is not None:
            shutil.rmtree(self._box, ignore_errors=True)
            self._box = None

    cleanup_resources = _async_cleanup_resources


# ----------------------------------------------------------------- hooks for RobustExecute
def record_cell(executor, cell, name: str, add_flag) -> None:
    """After a cell ran: flag the sandbox violations its outputs show (once per kind and cell)."""
    seen = {(f["kind"], f["cell"]) for f in executor.nb.metadata.get("course_grading", {}).get("flags", [])}
    for kind, detail in classify(cell):
        if (kind, name) not in seen:
            add_flag(executor.nb, kind, name, detail)
            seen.add((kind, name))


def death(executor) -> tuple[str, str]:
    km = getattr(executor, "km", None)
    if isinstance(km, SandboxKernelManager):
        return km.death_reason()
    return "kernel_died", "kernel died; remaining cells scored 0"


def finish(executor, km, add_flag) -> None:
    """After the notebook ran: flags the kernel manager collected (network attempts)."""
    if not isinstance(km, SandboxKernelManager):
        return
    km._read_events() if km._box is not None else None
    seen = {f["kind"] for f in executor.nb.metadata.get("course_grading", {}).get("flags", [])}
    for kind, detail in km.sandbox_flags:
        if kind not in seen:
            add_flag(executor.nb, kind, "-", detail)
            seen.add(kind)


# ----------------------------------------------------------------- command line
def add_arguments(p) -> None:
    """``course grade autograde`` options of the sandbox."""
    d = Limits()
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code with the grader's own permissions (only where bwrap cannot run)")
    p.add_argument("--memory", type=int, metavar="MB", help=f"address space per process (default {d.memory_mb})")
    p.add_argument("--cpu-time", type=int, metavar="S", help=f"CPU seconds per notebook (default {d.cpu_s})")
    p.add_argument("--max-processes", type=int, metavar="N",
                   help=f"processes and threads per notebook (default {d.processes})")
    p.add_argument("--max-file-size", type=int, metavar="MB", help=f"largest file written (default {d.file_mb})")
    p.add_argument("--max-output", type=int, metavar="KB", help=f"output kept per cell (default {d.output_kb})")
    p.add_argument("--wall", type=int, metavar="S", help=f"wall-clock seconds per notebook (default {d.wall_s})")


def apply_arguments(args) -> None:
    """Set the sandbox environment for the workers; refuse to grade unsandboxed without --no-sandbox."""
    from course.grading.workspace import GradingError

    if getattr(args, "no_sandbox", False):
        os.environ[ENV_SANDBOX] = "0"
    else:
        problem = sandbox_problem()
        if problem:
            raise GradingError(f"student code must run in a sandbox, and it cannot here: {problem}.\n"
                               f"Fix: {INSTALL} (then `course doctor` says 'sandbox ok'), or grade with "
                               f"the grader's own permissions: --no-sandbox (only under an account that holds "
                               f"nothing else)")
        os.environ[ENV_SANDBOX] = "1"
    limits = Limits.from_env()
    for arg, name in (("memory", "memory_mb"), ("cpu_time", "cpu_s"), ("max_processes", "processes"),
                      ("max_file_size", "file_mb"), ("max_output", "output_kb"), ("wall", "wall_s")):
        if getattr(args, arg, None) is not None:
            setattr(limits, name, int(getattr(args, arg)))
    os.environ[ENV_LIMITS] = limits.to_env()
