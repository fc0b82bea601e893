"""`course doctor` on the real installation, and on a deliberately broken one."""
import os
import subprocess
import sys
import textwrap

import numpy
import torch


def run_doctor(env=None):
    return subprocess.run([sys.executable, "-m", "course", "doctor"], capture_output=True,
                          text=True, env=env, timeout=120)


def test_doctor_reports_versions_and_passes():
    result = run_doctor()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"numpy         {numpy.__version__}" in out
    assert f"torch         {torch.__version__}" in out
    assert "jupyterlab-manager" in out and "enabled" in out
    expected_gpu = "cuda" if torch.cuda.is_available() else "none (CPU only"
    assert expected_gpu in out


def test_doctor_fails_with_a_clear_message_on_a_broken_package(tmp_path):
    # Shadow nbgrader with a package that cannot be imported: a real broken install.
    broken = tmp_path / "nbgrader"
    broken.mkdir()
    (broken / "__init__.py").write_text(textwrap.dedent("""
        raise ImportError("nbgrader is half-installed")
    """))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = run_doctor(env)
    assert result.returncode == 1
    assert "nbgrader      BROKEN  ImportError: nbgrader is half-installed" in result.stdout
    assert "The installation is broken" in result.stderr
    assert "make venv" in result.stderr


def test_doctor_fails_when_the_widget_extension_is_disabled(tmp_path):
    labconfig = tmp_path / "labconfig"
    labconfig.mkdir()
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": true}}')
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path)}
    result = run_doctor(env)
    assert result.returncode == 1
    assert "is disabled" in result.stdout and "labextension enable" in result.stderr
