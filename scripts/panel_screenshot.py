"""Regenerate docs/panel.png for the README: the embedded demo job, shown in the Qt panel.

python scripts/panel_screenshot.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [sys.executable, "-m", "crystalx_core.cli", "demo", "--dir", work, "--quiet"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        answer = next(Path(work).glob("*_crystalx.json"))
        out = REPO / "docs" / "panel.png"
        subprocess.run(
            [sys.executable, "-m", "crystalx_core.panel", str(answer), "--screenshot", str(out)],
            check=True,
            env={**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")},
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
