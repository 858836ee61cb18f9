"""Take README's screenshots from a running demo (`make demo`), as its people see the pages.

    .venv/bin/python scripts/readme_screens.py http://127.0.0.1:8000 OFFICER_TOKEN SUPERVISOR_TOKEN

The tokens are the ones `walktalk demo sign-in` prints. Pictures go to docs/screens/, shrunk
to keep the repository small. Uses Debian's Chromium, like the tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screens"
LAPTOP, PHONE = (1280, 800), (390, 844)


def save(page: Any, name: str, *, width: int, full: bool = False) -> None:
    """A screenshot, shrunk to ``width`` pixels and saved with a small palette."""
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    picture = Image.open(path)
    if picture.width > width:
        picture = picture.resize((width, round(picture.height * width / picture.width)))
    if picture.height > 2 * width:  # a long page: its top says what it is
        picture = picture.crop((0, 0, picture.width, 2 * width))
    picture.convert("RGB").quantize(colors=128).save(path, optimize=True)
    print(path)


def sign_in(browser: Any, base: str, token: str | None, size: tuple[int, int]) -> Any:
    """A page of one person's own browser, signed in when she has a token."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    if token:
        page.goto(f"{base}/login")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    return page


def main(base: str, officer: str, supervisor: str) -> None:
    """Every README picture, in the order README shows them."""
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        phone = sign_in(browser, base, None, PHONE)
        for path, name in (("/report", "public-report"), ("/take-part", "public-take-part")):
            phone.goto(base + path)
            phone.wait_for_timeout(800)
            save(phone, name, width=390)

        desk = sign_in(browser, base, officer, LAPTOP)
        save(desk, "officer-my-work", width=900, full=True)
        desk.get_by_role("main").get_by_role("link", name="Plan a walk").first.click()
        desk.wait_for_timeout(800)
        save(desk, "officer-plan", width=900)
        desk.go_back()
        desk.locator("ul.walks a").first.click()
        desk.wait_for_load_state()
        save(desk, "officer-walk", width=900, full=True)
        walk = desk.url.split("/work/walks/")[1].split("?")[0]
        desk.get_by_role("link", name="Open the route map").click()
        desk.wait_for_timeout(1500)
        save(desk, "officer-route-map", width=900)

        street = sign_in(browser, base, officer, PHONE)
        street.goto(f"{base}/walks/{walk}/live")
        street.wait_for_timeout(1500)
        save(street, "officer-live", width=390)

        boss = sign_in(browser, base, supervisor, LAPTOP)
        save(boss, "supervisor-my-work", width=900)
        for link, name in (("Safeguarding", "supervisor-safeguarding"),
                           ("Moderation", "supervisor-moderation"),
                           ("Officers", "supervisor-officers")):
            boss.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
            boss.wait_for_load_state()
            save(boss, name, width=900)
        boss.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
        if boss.locator("tbody a").count():  # the demo's reports may all be moderated
            boss.locator("tbody a").first.click()
            boss.wait_for_timeout(1000)
            save(boss, "supervisor-moderate-one", width=900)

        public = sign_in(browser, base, None, LAPTOP)
        public.goto(f"{base}/maps/hotspots")
        public.wait_for_timeout(2500)
        save(public, "partner-hotspots", width=900)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
