"""Training and ONNX export (the `train` extra: torch, torchmd-net). Runtime code never imports
this.

Importing this package makes torch safe beside cctbx. cctbx (imported first by
crystalx_core) loads its extensions RTLD_GLOBAL, among them libomptbx, an OpenMP stub
whose omp_get_thread_num() is always 0. torch imported later binds its omp_* calls to that
stub while its parallel regions still run on libgomp's threads, so all threads share
thread 0's buffers: heap corruption ("free(): invalid size") in index_add and friends.
Importing torch before cctbx is no way out (cctbx then crashes on the older libstdc++
torch put first). So when the stub shadows libgomp, libgomp gets one thread, the number
torch believes it has anyway. Loading torch's libgomp RTLD_GLOBAL before cctbx avoids the
shadowing and keeps torch multi-threaded; then this does nothing.
"""

import ctypes
import warnings

import torch  # noqa: F401  (loads libgomp, which the check below looks up)

from crystalx_core.runtime import without_onnxruntime_telemetry

# the export and evaluation scripts import onnxruntime themselves, each below this package
without_onnxruntime_telemetry()


def _confine_openmp_if_shadowed() -> None:
    try:
        gomp = ctypes.CDLL("libgomp.so.1")  # torch's copy: dlopen finds it loaded by soname
        first_found = ctypes.CDLL(None).omp_get_thread_num  # what torch's calls resolve to
    except (OSError, AttributeError):  # no libgomp (another OpenMP) or none global: no stub
        return
    address = ctypes.cast(gomp.omp_get_thread_num, ctypes.c_void_p).value
    if ctypes.cast(first_found, ctypes.c_void_p).value != address:
        gomp.omp_set_num_threads(1)
        _refuse_more_threads()


def _refuse_more_threads() -> None:
    """torch.set_num_threads(2) would silently bring the corruption back (seen: a model that
    trained to 96 % validation accuracy scored 29 % once run correctly), so keep it at 1."""
    original = torch.set_num_threads

    def set_num_threads(n: int) -> None:
        if n != 1:
            warnings.warn(
                "torch kept on one thread: cctbx's OpenMP stub shadows libgomp", stacklevel=2
            )
        original(1)

    torch.set_num_threads = set_num_threads


_confine_openmp_if_shadowed()
