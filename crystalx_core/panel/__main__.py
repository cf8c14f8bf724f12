"""python -m crystalx_core.panel ASSIGNMENT.json [--screenshot out.png] [--link]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crystalx_core.panel", description=__doc__)
    parser.add_argument(
        "assignment", type=Path, help="crystalx_last_<pid>.json from the plugin or x_crystalx.json"
    )
    parser.add_argument("--screenshot", type=Path, help="render once to this PNG and exit")
    parser.add_argument(
        "--link",
        action="store_true",
        help="talk to the Olex2 plugin on stdin/stdout (ready, select LABEL)",
    )
    args = parser.parse_args(argv)
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError:
        print(
            "crystalx panel: error: PySide6 is not installed (pip install 'crystalx[panel]')",
            file=sys.stderr,
        )
        return 2
    fault = none_leak()
    if fault:
        print(f"crystalx panel: error: {fault}", file=sys.stderr)
        return 2
    from crystalx_core.panel.window import Link, PanelWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    link = Link() if args.link else None
    window = PanelWindow(args.assignment, link)
    window.resize(760, 560)
    if args.screenshot:
        window.show()
        app.processEvents()
        return 0 if window.grab().save(str(args.screenshot)) else 1
    window.show()
    if link is not None:
        link.closed.connect(app.quit)
        link.send("ready")
    return app.exec()


def none_leak() -> str:
    """Why the panel cannot run on this PySide6, or '': 6.12.0 under Python 3.10 and 3.11 (3.12
    made None immortal) drops a reference to None on each Qt call returning nothing, and Python
    aborts at zero ('Fatal Python error: none_dealloc'), a 2,000-atom panel as it opens."""
    from importlib.metadata import PackageNotFoundError, version

    from PySide6 import __version__
    from PySide6.QtCore import QObject

    probe, before = QObject(), sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")
    if sys.getrefcount(None) >= before - 50:
        return ""
    try:  # the full PySide6 pins its Essentials: it is the one to step back where it is there
        package = version("PySide6") and "PySide6"
    except PackageNotFoundError:
        package = "PySide6-Essentials"
    python = sys.executable.replace("pythonw.exe", "python.exe")  # the plugin's, on Windows
    return (
        f"PySide6 {__version__} under Python {sys.version_info.major}.{sys.version_info.minor} "
        "loses a reference to None on each Qt call returning nothing, which would abort the panel; "
        f"install an earlier one: {python} -m pip install \"{package}<6.12\""
    )


if __name__ == "__main__":
    sys.exit(main())
