"""A PNG of a report page's top, as a browser shows it (headless Chromium: `apt-get install chromium`).

    python docs/figures/shoot_report.py [REPORT_HTML] [OUT_PNG] [HEIGHT]

Defaults: the demo's dataset report -> docs/images/report_front.png, a 1280-pixel-wide window
2200 pixels tall (the first sections of the page: summary, contact sheet and PSPI ladder).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shoot(page: Path, out: Path, height: int = 2200) -> None:
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        sys.exit("no Chromium found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--window-size=1280,{height}", f"--screenshot={out}",
                        page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    page = Path(args[0]) if args else REPO / "demo_data" / "report" / "report.html"
    out = Path(args[1]) if len(args) > 1 else REPO / "docs" / "images" / "report_front.png"
    shoot(page, out, int(args[2]) if len(args) > 2 else 2200)
