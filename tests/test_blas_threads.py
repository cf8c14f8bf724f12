"""OpenBLAS runs on one thread in the core unless the user chose (crystalx_core/__init__.py):
its threads waited on each other for the cores of a busy machine, 0.7 s for a 308-parameter
dtrtri that one thread does in 0.007 s."""

import os
import subprocess
import sys

import pytest


def _threads_seen(setting: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if setting is not None:
        env["OPENBLAS_NUM_THREADS"] = setting
    code = (
        "import crystalx_core, os, sys; "
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@pytest.mark.parametrize("setting, seen", [(None, "1"), ("3", "3")])
def test_openblas_is_set_before_numpy_loads_unless_the_user_chose(setting, seen):
    # set before the import loads numpy (through cctbx), where OpenBLAS reads it
    assert _threads_seen(setting) == f"{seen} True"
