"""python -m crystalx_core.panel ASSIGNMENT.json [--screenshot out.png]"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crystalx_core.panel", description=__doc__)
    parser.add_argument("assignment", type=Path, help="crystalx_last.json from the plugin or x_crystalx.json")
    parser.add_argument("--screenshot", type=Path, help="render once to this PNG and exit")
    args = parser.parse_args(argv)
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError:
        print("crystalx panel: error: PySide6 is not installed (pip install 'crystalx[panel]')", file=sys.stderr)
        return 2
    from crystalx_core.panel.window import PanelWindow
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = PanelWindow(args.assignment)
    window.resize(760, 560)
    if args.screenshot:
        window.show()
        app.processEvents()
        return 0 if window.grab().save(str(args.screenshot)) else 1
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
