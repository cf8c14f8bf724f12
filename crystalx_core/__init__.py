"""CrystalX core: element and hydrogen assignment for small-molecule crystal structures.

cctbx must be imported before gemmi: the other order segfaults the interpreter
(boost_python clash between gemmi 0.7.5 and cctbx-base 2025.11). Importing the
package fixes the order once for every module below it. torch must come after cctbx too
(cctbx's extensions crash on the older libstdc++ that torch loads), and so must PySide6
(shiboken6, measured with 6.11.3 and 6.12.0): a script that imported any of them (or gemmi)
first is refused with a clear error instead of a segmentation fault.
"""

# Ctrl-C, SIGTERM and SIGHUP are recorded, not acted on, from this first line on
# (crystalx_core._startup says why): a KeyboardInterrupt raised while the next imports run either
# cuts them short or, raised inside importlib's module-lock callback, is printed as "Exception
# ignored" and lost, and the command then runs on to write its outputs; SIGTERM and SIGHUP at
# their default end the process at once, saying nothing. _signal is built in and loaded with the
# interpreter, so no file is read before the hold is in place. A handler a program set (or
# SIGHUP ignored under nohup) is left alone.
import _signal

_stops_before_startup: list = []
_handlers_before: dict = {}  # signal → the handler the hold replaced
for _name, _python_default in (
    ("SIGINT", _signal.default_int_handler),
    ("SIGTERM", _signal.SIG_DFL),
    ("SIGHUP", _signal.SIG_DFL),  # not on Windows
):
    _number = getattr(_signal, _name, None)
    if _number is None or _signal.getsignal(_number) != _python_default:
        continue
    try:
        _signal.signal(_number, lambda signum, frame: _stops_before_startup.append(signum))
    except ValueError:  # not the main thread, where Python runs every handler: nothing to hold
        break
    _handlers_before[_number] = _python_default

import os  # noqa: E402
import sys  # noqa: E402

# OpenBLAS (numpy's and scipy's) on one thread unless the user chose, set before either loads
# (each reads it when it loads: a numpy a program imported before us keeps its threads):
# its threads wait on each other for cores a busy machine does not give, and every matrix here
# is small. The refinements' shift/su (LAPACK dtrtri, 308 parameters) took 0.7 s instead of
# 0.007 s on two shared cores, once a cycle; a 104-atom weighing's fits 21 s instead of 62 s.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    # the modules whose import before cctbx's crashes the interpreter, as a script names them;
    # the crash is the first load of cctbx's boost_python_meta_ext (its platform_info), so a
    # script that imported any cctbx module first (cctbx.sgtbx, then gemmi) is safe and runs
    _first = [
        name
        for module, name in (("torch", "torch"), ("shiboken6", "PySide6"), ("gemmi", "gemmi"))
        if module in sys.modules
    ]
    if _first and "boost_python_meta_ext" not in sys.modules:
        raise ImportError(
            f"import crystalx_core before {' and '.join(_first)}: cctbx crashes the interpreter "
            "(a segmentation fault) when they are loaded first"
        )
    from crystalx_core import _startup, _supervisor  # noqa: E402
except BaseException:
    for _number, _handler in _handlers_before.items():
        _signal.signal(_number, _handler)
    raise

# stop signals are held while the extensions import (an interrupt inside one leaves it half
# initialised: a crash later); the command keeps holding them until main() takes them over
_startup.hold_stops(taking_over=(_handlers_before, _stops_before_startup))
# the command runs in a child that a stop signal ends within seconds, even inside a long C++
# call that Python's handlers cannot interrupt (crystalx_core._supervisor); the child inherits
# the hold and every Ctrl-C recorded so far
if _startup.started_as_command():
    _startup.reserve_standard_fds()  # before the supervisor's pipe can take a closed one
    _supervisor.supervise()
try:
    from crystalx_core import _cctbx_env  # noqa: E402

    _cctbx_env.use_imported_cctbx_only()  # no libtbx_env from the job's folder or another cctbx
    import cctbx.xray  # noqa: E402,F401  (must precede gemmi, see above)
    import gemmi  # noqa: E402,F401
except BaseException:  # the import's own error is the one to see
    _startup.release_stops(deliver=False)
    raise
if not _startup.started_as_command():
    _startup.release_stops()

__version__ = "0.1.0"
