"""Screenshots of the web UI for the docs: traces list, trace view, overview (1400x900).

Run by hand: ``.venv/bin/python tests/ui_screenshots.py [OUT_DIR]`` (default docs/images).
Records the demo traces into a temporary SQLite file, starts ``llmledger server`` on it,
and drives headless Chromium (Debian's ``chromium``, or ``LLMLEDGER_CHROMIUM``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from server_process import ServerProcess  # noqa: E402
from test_ui import VIEWPORT, launch_browser, record_ui_data, take_screenshots  # noqa: E402


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    out = Path(argv[1]) if len(argv) > 1 else HERE.parent / "docs" / "images"
    with tempfile.TemporaryDirectory() as tmp:
        data = record_ui_data(Path(tmp) / "ui.db", traces=40, edge_cases=False)
        srv = ServerProcess(data["uri"]).start()
        try:
            with sync_playwright() as p:
                browser = launch_browser(p)
                context = browser.new_context(viewport=VIEWPORT, locale="en-US")
                page = context.new_page()
                for shot in take_screenshots(page, srv.url, data, out):
                    print(shot)
                browser.close()
        finally:
            srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
