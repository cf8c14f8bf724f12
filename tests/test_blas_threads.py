"""OpenBLAS runs on one thread in the core unless the user chose (crystalx_core/__init__.py):
its threads waited on each other for the cores of a busy machine, 0.7 s for a 308-parameter
dtrtri that one thread does in 0.007 s."""

import os
import subprocess
import sys

import pytest

# The thread counts the loaded OpenBLAS libraries (numpy's and scipy's wheels carry one each)
# report themselves, not the environment variable: a variable set after numpy loaded is not read.
_PROBE = """
import ctypes, sys
{first}
import crystalx_core, scipy.linalg
counts = []
for path in sorted({{line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line}}):
    library = ctypes.CDLL(path)
    for name in ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
                 "scipy_openblas_get_num_threads", "openblas_get_num_threads64_"):
        if hasattr(library, name):
            counts.append(getattr(library, name)())
            break
print(sorted(counts))
"""


def _openblas_threads(setting: str | None, first: str = "") -> list[int]:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if setting is not None:
        env["OPENBLAS_NUM_THREADS"] = setting
    code = _PROBE.format(first=first)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return eval(run.stdout)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
    reason="reads /proc/self/maps; on one core OpenBLAS's default is one thread already",
)
@pytest.mark.parametrize("setting, seen", [(None, 1), ("2", 2)])  # OpenBLAS caps it at the cores
def test_openblas_runs_on_one_thread_unless_the_user_chose(setting, seen):
    counts = _openblas_threads(setting)
    assert counts and set(counts) == {seen}
