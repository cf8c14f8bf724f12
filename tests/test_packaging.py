"""The built wheel carries the models: installed in a fresh environment, `crystalx demo` runs
the models, not the baseline; without them, 'auto' fails with a clear error."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.util import find_spec
from pathlib import Path

import pytest

from crystalx_core import cli, runtime
from tests.conftest import BENCHMARK

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "README.md", "crystalx_core", "onnx_models")


def _run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.skipif(find_spec("onnxruntime") is None, reason="onnxruntime is not installed")
def test_wheel_in_a_fresh_environment_runs_the_demo_with_the_models(tmp_path):
    source = tmp_path / "source"  # a copy: building leaves build/ and *.egg-info behind
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(REPO / name, source / name)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ]
    )
    (wheel,) = (tmp_path / "dist").glob("crystalx-*.whl")
    assert {
        "crystalx_core/onnx_models/heavy.onnx",
        "crystalx_core/onnx_models/hydrogen.json",
    } <= set(zipfile.ZipFile(wheel).namelist())

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ]
    )
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).strip()
    )
    assert (purelib / "crystalx_core" / "onnx_models" / "heavy.onnx").is_file()
    # the dependencies from this environment (offline, fast), added after the install so that pip
    # does not take this environment's editable crystalx for the one to install; a plain path
    # line, so that its editable finder is not loaded
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    from libtbx.env_config import get_installed_path

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CRYSTALX_MODELS")}
    env["LIBTBX_BUILD"] = (
        get_installed_path()
    )  # cctbx looks for its build under the new prefix otherwise
    out = _run(
        [
            str(venv / "bin" / "crystalx"),
            "demo",
            "--dir",
            str(tmp_path / "demo"),
            "--json",
            "--cycles",
            "3",
        ],
        cwd=tmp_path,
        env=env,
    )
    report = json.loads(out)
    assert report["method"] == "model" and report["hydrogen_method"] == "model"
    assert report["refinement"]["r1"] < 0.08


def test_auto_without_the_models_is_an_error_not_the_baseline(
    shared_data, tmp_path, monkeypatch, capsys
):
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setattr(runtime, "MODEL_DIR", models)
    res = BENCHMARK / "XH_urea" / "published.res"
    assert cli.main(["assign", str(res), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert (
        "heavy.onnx, hydrogen.onnx missing" in err
        and str(models) in err
        and "--method baseline" in err
    )
    assert cli.main(["assign", str(res), "--method", "baseline", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith("crystalx: error:")
        and "hydrogen.onnx missing" in err
        and "--hydrogens rules" in err
    )
    assert [p.name for p in tmp_path.iterdir()] == ["models"]


def test_a_model_is_loaded_once_however_its_folder_is_spelt(monkeypatch, tmp_path):
    from crystalx_core.assign.model import MODEL_DIR, load_model

    monkeypatch.chdir(MODEL_DIR.parent)
    first = load_model(MODEL_DIR, "hydrogen")  # as the batch warm-up asks
    assert load_model(str(MODEL_DIR), "hydrogen") is first  # as assign_model's default was
    assert load_model(Path(MODEL_DIR.name), "hydrogen") is first
