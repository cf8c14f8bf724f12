"""CrystalX core: element and hydrogen assignment for small-molecule crystal structures.

cctbx must be imported before gemmi: the other order segfaults the interpreter
(boost_python clash between gemmi 0.7.5 and cctbx-base 2025.11). Importing the
package fixes the order once for every module below it. torch must come after cctbx too
(cctbx's extensions crash on the older libstdc++ that torch loads), so a torch already
imported is refused with a clear error instead of a segmentation fault.
"""

# Ctrl-C is recorded, not raised, from this first line on (crystalx_core._startup says why):
# a KeyboardInterrupt raised while the next imports run either cuts them short or, raised inside
# importlib's module-lock callback, is printed as "Exception ignored" and lost, and the command
# then runs on to write its outputs. _signal is built in and loaded with the interpreter, so no
# file is read before the hold is in place.
import _signal

_sigints_before_startup: list = []
_sigint_handler_before = _signal.getsignal(_signal.SIGINT)
if _sigint_handler_before is _signal.default_int_handler:
    try:
        _signal.signal(_signal.SIGINT, lambda signum, frame: _sigints_before_startup.append(signum))
    except ValueError:  # not the main thread, where Python runs every handler: nothing to hold
        _sigint_handler_before = None
else:  # a program's own handler (or none that Python set) is left alone
    _sigint_handler_before = None

import sys  # noqa: E402

try:
    if "torch" in sys.modules and "cctbx.xray" not in sys.modules:
        raise ImportError(
            "import crystalx_core before torch: cctbx crashes the interpreter when torch "
            "is loaded first"
        )
    from crystalx_core import _startup, _supervisor  # noqa: E402
except BaseException:
    if _sigint_handler_before is not None:
        _signal.signal(_signal.SIGINT, _sigint_handler_before)
    raise

# Ctrl-C is held while the extensions import (an interrupt inside one leaves it half
# initialised: a crash later); the command keeps holding it until main() takes it over
_startup.hold_sigint(taking_over=(_sigint_handler_before, _sigints_before_startup))
# the command runs in a child that a stop signal ends within seconds, even inside a long C++
# call that Python's handlers cannot interrupt (crystalx_core._supervisor); the child inherits
# the hold and every Ctrl-C recorded so far
if _startup.started_as_command():
    _supervisor.supervise()
try:
    import cctbx.xray  # noqa: E402,F401  (must precede gemmi, see above)
    import gemmi  # noqa: E402,F401
except BaseException:  # the import's own error is the one to see
    _startup.release_sigint(deliver=False)
    raise
if not _startup.started_as_command():
    _startup.release_sigint()

__version__ = "0.1.0"
