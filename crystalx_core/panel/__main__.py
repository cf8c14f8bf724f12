"""python -m crystalx_core.panel ASSIGNMENT.json [--screenshot out.png] [--link]"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crystalx_core.panel", description=__doc__)
    parser.add_argument(
        "assignment", type=Path, help="crystalx_last.json from the plugin or x_crystalx.json"
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
    _keep_none_alive()
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


def _keep_none_alive() -> None:
    """PySide6 6.12.0 under Python 3.10 and 3.11, where None is still reference-counted (3.12
    made it immortal), drops a reference to None on each call returning nothing: a panel of 100
    atoms loses ~500 per threshold step or new answer, 1,000 atoms end it as it opens, and at
    zero Python aborts ('deallocating None'). Where a probe sees it, None gets as many
    references as can never be lost, as 3.12 gives it."""
    if sys.version_info >= (3, 12):
        return
    from PySide6.QtCore import QObject

    probe, before = QObject(), sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")
    if sys.getrefcount(None) >= before - 50:
        return  # a PySide6 without the fault
    count = ctypes.c_ssize_t.from_address(id(None))
    if abs(count.value - sys.getrefcount(None)) < 10:  # the count leads the object (release build)
        count.value += sys.maxsize // 4


if __name__ == "__main__":
    sys.exit(main())
