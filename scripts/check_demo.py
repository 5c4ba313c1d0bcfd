"""Check the running demo as a person would: the dashboard in headless Chromium, until it shows
the live line (the preparation panel gone, items per minute above zero on every line).

Used by ``scripts/ci-demo.sh``; prints one line per stage and exits 1 with the reason when
the dashboard does not get there in time.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "plant" / "dashboard"))

from browser import chromium, console_errors, save_screenshot

LIVE = """
const prep = document.getElementById("preparing");
const ipm = document.getElementById("kpi-ipm").textContent.replace(/[^0-9.]/g, "");
const nodes = document.querySelectorAll("#nodes .node").length;
return {preparing: prep && !prep.hidden ? prep.innerText : null, ipm: parseFloat(ipm) || 0,
        nodes: nodes};
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8080/")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to reach live")
    parser.add_argument("--nodes", type=int, default=3, help="camera nodes the demo runs")
    parser.add_argument("--shots", type=Path, default=Path("artifacts"), help="screenshots")
    parser.add_argument("--expect-preparing", action="store_true",
                        help="fail unless the page showed the preparation first (fresh data)")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            urllib.request.urlopen(args.url, timeout=5).read()
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                print(f"check-demo: the dashboard never answered at {args.url}: {exc}")
                return 1
            time.sleep(2)
    print(f"check-demo: the dashboard answers at {args.url}", flush=True)
    profile = args.shots / "chromium-profile"
    driver = chromium(profile)
    try:
        driver.get(args.url)
        seen_preparing = False
        state: dict = {}
        while time.monotonic() < deadline:
            state = driver.execute_script(LIVE) or {}
            if state.get("preparing"):
                if not seen_preparing:
                    save_screenshot(driver, args.shots, "demo-preparing")
                    print("check-demo: the dashboard shows the preparation:",
                          " | ".join(state["preparing"].splitlines()[:3]), flush=True)
                seen_preparing = True
            elif state.get("nodes", 0) >= args.nodes and state.get("ipm", 0) > 0:
                break
            time.sleep(2)
        else:
            save_screenshot(driver, args.shots, "demo-timeout")
            print(f"check-demo: no live line within {args.timeout:.0f} s: {state}")
            return 1
        if args.expect_preparing and not seen_preparing:
            print("check-demo: the dashboard never showed the preparation")
            return 1
        save_screenshot(driver, args.shots, "demo-live")
        errors = console_errors(driver)
        if errors:
            print(f"check-demo: browser console errors: {errors}")
            return 1
        print(f"check-demo: live: {state['nodes']} lines, {state['ipm']:.0f} items/min",
              flush=True)
        return 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
