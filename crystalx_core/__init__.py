"""CrystalX core: element and hydrogen assignment for small-molecule crystal structures.

cctbx must be imported before gemmi: the other order segfaults the interpreter
(boost_python clash between gemmi 0.7.5 and cctbx-base 2025.11). Importing the
package fixes the order once for every module below it. torch must come after cctbx too
(cctbx's extensions crash on the older libstdc++ that torch loads), so a torch already
imported is refused with a clear error instead of a segmentation fault.
"""

import sys

if "torch" in sys.modules and "cctbx.xray" not in sys.modules:
    raise ImportError(
        "import crystalx_core before torch: cctbx crashes the interpreter when torch "
        "is loaded first"
    )

from crystalx_core import _startup, _supervisor  # noqa: E402

# the command runs in a child that a stop signal ends within seconds, even inside a long C++
# call that Python's handlers cannot interrupt (crystalx_core._supervisor)
if _startup.started_as_command():
    _supervisor.supervise()
# Ctrl-C is held while the extensions import (an interrupt inside one leaves it half
# initialised: a crash later); the command keeps holding it until main() takes it over
_startup.hold_sigint()
try:
    import cctbx.xray  # noqa: E402,F401  (must precede gemmi, see above)
    import gemmi  # noqa: E402,F401
except BaseException:  # the import's own error is the one to see
    _startup.release_sigint(deliver=False)
    raise
if not _startup.started_as_command():
    _startup.release_sigint()

__version__ = "0.1.0"
