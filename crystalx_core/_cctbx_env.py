"""cctbx's environment (libtbx_env) read from the cctbx being imported only, never from the
folder a job runs in or from another installation a variable of the shell names.

cctbx reads a pickled `libtbx_env` at import (libtbx.load_env) from LIBTBX_BUILD, and, on every
module lookup from its first import on (env.has_module, reached from scitbx.lstbx), from a file
of that name in the current folder or any sys.path folder (libtbx.env_config.get_local_env: a
developer's build over an installed cctbx). A user's data folder holding such a file ended every
job in an UnpicklingError, or ran the code a pickle holds; a LIBTBX_BUILD left in the shell by
another cctbx (a terminal opened from Olex2, a Phenix or DIALS dispatcher) ended every command
at import with 'Python version incompatible with this build'. Called before cctbx is imported
(crystalx_core/__init__.py).
"""

from __future__ import annotations

import os
import sys


def use_imported_cctbx_only() -> None:
    """No local build environment is looked for: cctbx uses one only over an installed cctbx,
    for a developer building on it, which a CrystalX job never is. And, before cctbx's
    environment is loaded, where the cctbx to be imported is an installed one (pip, conda: its
    own libtbx_env in share/cctbx), a LIBTBX_BUILD naming another folder is pointed at it, as
    that cctbx's own dispatchers set it (a cctbx built from source, whose environment is only
    where LIBTBX_BUILD says, keeps it)."""
    import libtbx.env_config

    libtbx.env_config.get_local_env = _no_local_env
    if "libtbx.load_env" in sys.modules:
        return
    installed = libtbx.env_config.get_installed_path()
    if not os.path.isfile(os.path.join(installed, "libtbx_env")):
        return
    named = os.environ.get("LIBTBX_BUILD")
    if named and not _same_folder(named, installed):
        os.environ["LIBTBX_BUILD"] = installed


def _no_local_env(build_dir=None):
    """libtbx.env_config.get_local_env's answer where there is no build over the installed
    cctbx: none (its callers then use the installed environment)."""
    return None


def _same_folder(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them is missing: not the installed cctbx's folder
        return False
