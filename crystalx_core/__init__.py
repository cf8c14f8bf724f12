"""CrystalX core: element and hydrogen assignment for small-molecule crystal structures.

cctbx must be imported before gemmi: the other order segfaults the interpreter
(boost_python clash between gemmi 0.7.5 and cctbx-base 2025.11). Importing the
package fixes the order once for every module below it.
"""
import cctbx.xray  # noqa: F401  (must precede gemmi, see above)
import gemmi  # noqa: F401

__version__ = "0.1.0"
