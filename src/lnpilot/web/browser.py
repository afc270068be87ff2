"""The browser the dashboard is checked and measured in (``tests/web``, ``bench/api_speed.py``).

Debian's Chromium package (``make chromium``), driven by Playwright with this executable:
Playwright's own browser download is never used (it cannot run here, and would be a second,
unpinned browser). The flags run it headless as root in a container, with nothing that phones
home, so a page's requests are only the dashboard's own.
"""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
