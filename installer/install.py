"""Run inside Olex2 (`py.run /path/to/crystalx/installer/install.py`): installs the plugin into
the running Olex2, with the core interpreter from the checkout's .venv.

Olex2's py.run executes the file in `__main__` without `__file__` and after changing into the
file's folder (pyext.cpp; Olex2's own plugin skeleton falls back the same way), so the
checkout is found from the working directory then."""

import os
import sys


def _here():
    try:
        return os.path.dirname(os.path.abspath(__file__))
    except NameError:
        return os.getcwd()


sys.path.insert(0, os.path.dirname(_here()))

from installer.olex2_setup import InstallError, default_core_python, install  # noqa: E402


def run_inside_olex2():
    import olx

    try:
        target = install(olx.BaseDir(), default_core_python())
        print("CrystalX installed in %s; restart Olex2 to load it" % target)
    except InstallError as error:
        print("CrystalX installer: %s" % error)


run_inside_olex2()
