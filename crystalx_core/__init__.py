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

import cctbx.xray  # noqa: E402,F401  (must precede gemmi, see above)
import gemmi  # noqa: E402,F401

__version__ = "0.1.0"
