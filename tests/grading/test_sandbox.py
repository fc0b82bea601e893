"""The sandbox, proven by a hostile batch: one `course grade autograde` of honest and hostile
submissions of a small assignment (tests/grading_infra.py: h1_relu, 15 points, no torch).

Every hostile submission defines a correct answer first and then attacks: reads the hidden
tests, solutions/ and other students from disk, writes the gradebook and files outside its
folder, opens a socket to a listener on 127.0.0.1, allocates without bound, forks without
bound (children that call setsid), writes a huge file, prints without end, kills its parent,
ignores signals while spinning, burns CPU, sleeps forever, or edits a test cell.  Each is
graded as what it is and flagged; the honest ones get full marks; nothing outside the sandbox
changes (course folder and submissions hashed before and after, a canary in the real /tmp,
the listener never sees a connection, no sandbox process survives the batch).
Limits are small so the suite is bounded: 768 MB address space, 40 processes, 8 MB files,
64 KB of output per cell, 3 s of CPU, 30 s of wall clock per notebook.
"""
from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import nbformat
import pytest

import grading_helpers
import grading_infra as infra

H1 = infra.H1
FULL = sum(infra.POINTS.values())
CANARY = f"/tmp/course-canary-{uuid.uuid4().hex}"

RELU = "def relu(x):\n    return np.maximum(x, 0.0)\n\n"


def hostile(course: Path, ws: Path, port: int) -> dict[str, tuple[str, float, set[str]]]:
    """student -> (code after a correct relu, expected score, expected flags (any of))."""
    paths = [f"{course}/solutions/{H1}/{H1}.ipynb", f"{grading_helpers.ROOT}/solutions",
             f"{ws}/gradebook.db", f"{ws}/submitted", f"{ws}/autograded", "/root", os.path.expanduser("~")]
    return {
        "reads_secrets": (
            "import glob, os\nfound = []\n"
            f"for top in {paths!r}:\n"
            "    for p in glob.glob(top + '/**', recursive=True) + [top]:\n"
            "        try:\n            found.append((p, open(p, 'rb').read()))\n"
            "        except OSError:\n            pass\n"
            "print('FOUND', sorted({p for p, _ in found if not p.startswith(os.getcwd())}))\n"
            f"secret = {infra.SECRET[:10]!r} + {infra.SECRET[10:]!r}\n"
            "print('LEAKED', any(secret.encode() in data for _, data in found))\n", FULL, set()),
        "writes_gradebook": (
            "import sqlite3\n"
            f"try:\n    con = sqlite3.connect({str(ws / 'gradebook.db')!r})\n"
            "    con.execute('update grade set manual_score = 0'); con.commit(); print('WROTE gradebook')\n"
            "except Exception as e:\n    print('gradebook:', type(e).__name__)\n"
            f"for path in ({str(ws / 'evil.txt')!r}, {CANARY!r}, 'evil.txt', '/evil.txt'):\n"
            "    try:\n        open(path, 'w').write('x'); print('WROTE', path)\n"
            "    except OSError as e:\n        print('no write', path, type(e).__name__)\n", FULL, set()),
        "network": (
            f"import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('127.0.0.1', {port}))\n",
            FULL, {"network_blocked"}),
        "memory_bomb": ("hoard = []\nwhile True:\n    hoard.append(bytearray(64 * 2 ** 20))\n",
                        FULL, {"memory_limit"}),
        "fork_bomb": (
            "import os, time\nwhile True:\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(600)\n"
            "        os._exit(0)\n", FULL, {"too_many_processes"}),
        "huge_file": ("with open('/tmp/huge.bin', 'wb') as fh:\n    for _ in range(64):\n"
                      "        fh.write(b'x' * 2 ** 20)\n", FULL, {"output_too_large"}),
        "print_flood": ("while True:\n    print('y' * 1000)\n", FULL, {"output_too_large"}),
        "kills_parent": ("import os, signal\nfor pid in (os.getppid(), 1):\n    try:\n"
                         "        os.kill(pid, signal.SIGKILL)\n    except OSError as e:\n"
                         "        print(pid, type(e).__name__)\n", FULL, {"kernel_died", ""}),
        "signal_handlers": ("import signal\nfor s in (signal.SIGINT, signal.SIGTERM, signal.SIGXCPU):\n"
                            "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n",
                            0, {"cpu_limit", "timeout"}),
        "cpu_hog": ("while True:\n    pass\n", 0, {"cpu_limit", "timeout"}),
        "sleeper": ("import time\ntime.sleep(10 ** 6)\n", 0, {"timeout"}),
        # honest: joblib (scikit-learn) and multiprocessing need POSIX semaphores in /dev/shm
        "semaphores": ("import multiprocessing\nlock = multiprocessing.Lock()\nprint('LOCK ok')\n", FULL, set()),
        # honest: the course's text comes from the grader's read-only cache (rebuilding it would take
        # seconds past the 3 s CPU limit); importing urllib3 (it binds ('::1', 0)) is not networking
        "reads_corpus": ("import sys, urllib3\nfrom course.data import text\n"
                         "print('CORPUS', len(text.characters('train')) > 10 ** 6, 'gensim' in sys.modules)\n"
                         "try:\n    open(text.cache_file('.json'), 'a').write('x')\nexcept OSError as e:\n"
                         "    print('cache refused', type(e).__name__)\n", FULL, set()),
    }


def _tamper(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_relu":
            cell.source = "print('relu: all tests passed')\n"


def _sandbox_uids() -> list[int]:
    """Processes still running as a sandbox's own user id (root grader: 200000-299999)."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if 200_000 <= p.stat().st_uid < 300_000:
                    out.append(int(p.name))
            except OSError:
                pass
    return out


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    infra.require("COURSE_REQUIRE_SANDBOX", infra.sandbox_problem())
    tmp = tmp_path_factory.mktemp("hostile")
    course = infra.tiny_course(tmp / "course")
    release, ws, subs_dir = tmp / "release", tmp / "ws", tmp / "subs"
    env = infra.env_for(course, release)
    w = ("--workspace", ws)
    grading_helpers.run_course("grade", "release", H1, *w, env=env)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    cases = hostile(course, ws, port)
    subs = {name: infra.submission(release, relu=RELU + code) for name, (code, _, _) in cases.items()}
    subs["honest_a"] = infra.submission(release)
    subs["honest_b"] = infra.submission(release, relu="def relu(x):\n    return np.where(x > 0, x, 0.0)\n")
    subs["tampered"] = infra.submission(release, relu="def relu(x):\n    return x\n", edit=_tamper)
    infra.write_submissions(subs_dir, subs)
    grading_helpers.run_course("grade", "collect", H1, subs_dir, *w, env=env)
    (ws / "sentinel.txt").write_text("untouched")
    before = {"course": grading_helpers.hashes(course), "submitted": grading_helpers.hashes(ws / "submitted"),
              "sentinel": grading_helpers.hashes(ws)["sentinel.txt"]}
    proc = grading_helpers.run_course(
        "grade", "autograde", H1, "--workers", 2, "--timeout", 45, "--wall", 30, "--cpu-time", 3,
        "--memory", 768, "--max-processes", 40, "--max-file-size", 8, "--max-output", 64, "--no-progress",
        *w, env=env, check=False)
    try:
        conn = listener.accept()
        connected = [conn]
    except BlockingIOError:
        connected = []
    listener.close()
    grading_helpers.run_course("grade", "export", H1, "--csv", tmp / "grades.csv", *w, env=env)
    grading_helpers.run_course("grade", "feedback", H1, *w, env=env)
    after = {"course": grading_helpers.hashes(course), "submitted": grading_helpers.hashes(ws / "submitted"),
             "sentinel": grading_helpers.hashes(ws)["sentinel.txt"]}
    return {"cases": cases, "proc": proc, "csv": grading_helpers.read_csv(tmp / "grades.csv"), "ws": ws,
            "before": before, "after": after, "connected": connected, "course": course, "env": env,
            "release": release, "tmp": tmp}


def _answer_output(batch, student) -> str:
    nb = nbformat.read(batch["ws"] / "autograded" / student / H1 / f"{H1}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
    return "".join(o.get("text", "") + str(o.get("evalue", "")) for o in cell.outputs)


@pytest.mark.slow
def test_every_hostile_submission_is_graded_and_flagged(batch):
    rows = batch["csv"]
    assert "tampered" in rows and "honest_a" in rows, batch["proc"].stdout + batch["proc"].stderr
    for student, (_, score, kinds) in batch["cases"].items():
        row = rows[student]
        flags = {f.split(":")[0] for f in row["flags"].split("; ") if f}
        assert float(row["score"]) == score, (student, row["score"], row["flag_details"])
        if kinds and "" not in kinds:
            assert flags & kinds, (student, flags, row["flag_details"])
        elif "" in kinds:
            assert not flags or flags & kinds, (student, flags, row["flag_details"])
        else:
            assert not flags, (student, flags, row["flag_details"])
    assert float(rows["tampered"]["score"]) == infra.POINTS["test_out_len"]
    assert "tampered:test_relu" in rows["tampered"]["flags"]


@pytest.mark.slow
def test_semaphores_work_inside_the_sandbox(batch):
    """Without a writable /dev/shm, joblib warns on stderr, and nbgrader scores a test cell with stderr 0."""
    assert "LOCK ok" in _answer_output(batch, "semaphores"), _answer_output(batch, "semaphores")


@pytest.mark.slow
def test_the_corpus_cache_is_shared_read_only(batch):
    out = _answer_output(batch, "reads_corpus")
    assert "CORPUS True False" in out and "cache refused" in out, out


@pytest.mark.slow
def test_honest_submissions_in_the_same_batch_get_full_marks(batch):
    for student in ("honest_a", "honest_b"):
        row = batch["csv"][student]
        assert float(row["score"]) == FULL and row["flags"] == "", row


@pytest.mark.slow
def test_nothing_secret_is_visible_and_nothing_outside_changes(batch):
    out = _answer_output(batch, "reads_secrets")      # only its own folder is there to read
    assert "FOUND []" in out and "LEAKED False" in out, out
    out = _answer_output(batch, "writes_gradebook")
    # the gradebook and the real folders are out of reach; /tmp is the sandbox's own (a tmpfs),
    # so the canary lands there and never in the machine's /tmp (checked below)
    assert "WROTE gradebook" not in out and out.count("no write") == 3 and f"WROTE {CANARY}" in out, out
    assert batch["before"] == batch["after"]
    assert not os.path.exists(CANARY) and not (batch["ws"] / "evil.txt").exists()
    assert batch["connected"] == []                      # the listener on 127.0.0.1 saw nobody
    assert _sandbox_uids() == []                         # no forked child survived its kernel


@pytest.mark.slow
def test_flags_say_what_happened(batch):
    details = {s: batch["csv"][s]["flag_details"] for s in batch["cases"]}
    assert "MemoryError" in details["memory_bomb"] or "memory limit" in details["memory_bomb"]
    assert "process limit" in details["fork_bomb"]
    assert "larger than the sandbox allows" in details["huge_file"]
    assert "printed more than 64 KB" in details["print_flood"]
    assert "wall-clock limit of 30 s" in details["sleeper"]


@pytest.mark.slow
def test_feedback_shows_no_hidden_test(batch):
    pages = sorted((batch["ws"] / "feedback").glob(f"*/{H1}/{H1}.html"))
    assert len(pages) == len(batch["csv"])
    for page in pages:
        assert infra.SECRET not in page.read_text(), page


def test_autograde_refuses_without_a_sandbox_unless_told(tmp_path):
    """No bwrap on PATH: a refusal that names the fix; --no-sandbox is the explicit way out."""
    course = infra.tiny_course(tmp_path / "course")
    env = infra.env_for(course, tmp_path / "release", PATH=str(grading_helpers.BIN))
    proc = grading_helpers.run_course("grade", "autograde", H1, "--workspace", tmp_path / "ws", env=env, check=False)
    assert proc.returncode == 1
    assert "apt-get install bubblewrap" in proc.stderr and "--no-sandbox" in proc.stderr, proc.stderr
    proc = grading_helpers.run_course("grade", "autograde", H1, "--no-sandbox", "--workspace", tmp_path / "ws",
                                      env=env, check=False)
    assert "bubblewrap" not in proc.stderr and "is not in the gradebook" in proc.stderr   # got past the check


def test_doctor_reports_the_sandbox():
    env = dict(os.environ, PATH=f"{grading_helpers.BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    out = subprocess.run([str(grading_helpers.BIN / "course"), "doctor"], capture_output=True, text=True,
                         env=env, timeout=300).stdout
    line = next(l for l in out.splitlines() if l.startswith("sandbox"))  # noqa: E741
    assert ("ok" in line) == (infra.sandbox_problem() is None), line
