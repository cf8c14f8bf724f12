"""python -m crystalx_core.panel ASSIGNMENT.json [--screenshot out.png] [--link]"""

from __future__ import annotations

import argparse
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


if __name__ == "__main__":
    sys.exit(main())
