"""Make the screenshots in docs/screenshots/ from a fresh demo region, in Chromium, in Chinese.

    .venv/bin/python docs/screenshots/make.py            # all of them, into docs/screenshots/
    .venv/bin/python docs/screenshots/make.py home desk-bank-officer   # only these

It loads the demo region into a throw-away data directory (``ippledge demo --no-serve``), serves it
(``ippledge serve``), logs in as the demo users and photographs their main pages at 1366×900 (the
top of the page, or the whole page where it says so) and a few at 390×844, as a phone shows them.
Each picture is reduced to a 256-colour palette so the folder stays small (well under 3 MB).  It also
prints each page's ``scrollWidth``: a page wider than its screen is a layout bug (tests/browser/
test_layout.py fails on it).  Chromium: ``$IPPLEDGE_CHROMIUM`` or Debian's ``/usr/bin/chromium``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDE, PHONE = (1366, 900), (390, 844)
ENTERPRISES, RIGHTS = 60, 800


@dataclass(frozen=True)
class Shot:
    name: str
    login: str | None  # a demo username; None: the public
    url: str  # a path, or "find:<path>|<regex>": the first link on <path> whose href matches
    size: tuple[int, int] = WIDE
    full: bool = False  # the whole page rather than the top
    caption: str = ""


SHOTS = [
    Shot("home", None, "/", caption="首页（未登录）：先查质押登记，再查权利登记簿"),
    Shot("pledge-search", None, "pledge-search", caption="公开质押检索：按权利、当事人查询登记记录"),
    Shot("pledge-record", None, "pledge-record", full=True,
         caption="一条质押登记的公开记录：当事人、权利、担保债权（元）、北京时间"),
    Shot("certificate", None, "certificate", full=True, caption="检索证明的核验页"),
    Shot("rights-list", None, "/rights/", caption="知识产权登记簿：筛选、排序、分页、导出"),
    Shot("right-detail", None, "pledged-right", full=True, caption="一项被质押的专利：法律状态时间线与现行质押"),
    Shot("public-statistics", None, "/reports/public/", full=True, caption="公开统计"),
    Shot("desk-enterprise", "enterprise", "/", caption="企业用户的待办"),
    Shot("financing-portal", "enterprise", "/credit/portal/", full=True, caption="企业融资门户：需求、匹配、授信决定"),
    Shot("workbench", "bank_officer", "/credit/", full=True, caption="客户经理的授信工作台：金额（元）、阶段、用时/时限"),
    Shot("credit-case", "bank_officer", "find:/credit/cases/|^/credit/cases/[^/?]+/$", full=True,
         caption="授信案件：估值、尽调清单、风险等级、LTV 与成本构成"),
    Shot("loan-book", "bank_officer", "/credit/loans/", caption="贷款台账：余额（元）、五级分类"),
    Shot("loan", "bank_officer", "find:/credit/loans/|^/credit/loans/[^/?]+/$", full=True, caption="一笔贷款：还款计划与分类"),
    Shot("application-form", "bank_officer", "find:/registry/applications/new/?pledgor_q=广州|^\\?pledgor=", full=True,
         caption="质押登记申请：从登记簿选择出质人和权利"),
    Shot("application-registered", "bank_officer", "find:/registry/applications/|^/registry/applications/[A-Z]",
         full=True, caption="一件已登记的申请：所提交的内容与登记结果"),
    Shot("collateral-monitor", "bank_officer", "/monitoring/", full=True,
         caption="押品监控：本行每项在押权利的法律状态、价值、LTV、未结预警，以及今天要办的事"),
    Shot("alert", "bank_officer", "find:/monitoring/alerts/|^/monitoring/alerts/\\d+/$", full=True,
         caption="一条预警：应采取的措施、确认与处理（先确认再提交）"),
    Shot("registrar-queue", "registrar", "/registry/queue/", caption="登记员的审查队列"),
    Shot("review", "registrar", "find:/registry/queue/|^/registry/queue/[^/?]+/$", full=True,
         caption="审查一件申请：决定须主动选择"),
    Shot("valuation-form", "appraiser", "/valuation/", full=True, caption="估值计算：每种方法一张表单，带单位与说明"),
    Shot("valuation-record", "appraiser", "find:/valuation/records/|^/valuation/records/(?!new/)[^/?]+/$", full=True,
         caption="一份估值记录：输入、步骤、区间与报告 PDF"),
    Shot("agencies", None, "/valuation/agencies/", caption="评估机构名录"),
    Shot("dashboard", "regulator", "/reports/", full=True, caption="监管统计看板：图表、3个百分点容忍度比较"),
    Shot("admin-desk", "admin", "/manage/", full=True, caption="平台管理员：机构、用户与角色、贷款产品、LPR、营业日、日终"),
    Shot("phone-home", None, "/", size=PHONE, full=True, caption="手机（390 px）：首页"),
    Shot("phone-workbench", "bank_officer", "/credit/", size=PHONE, full=True, caption="手机：授信工作台，表格在卡片内横向滚动"),
    Shot("phone-dashboard", "regulator", "/reports/", size=PHONE, caption="手机：监管看板"),
    Shot("phone-menu", "bank_officer", "menu", size=PHONE, caption="手机：折叠的导航菜单已展开"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict, *args: str, **kw) -> subprocess.Popen | subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ippledge.cli", *args]
    if kw.pop("background", False):
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=1800)


def _fontconfig(tmp: Path) -> dict[str, str]:
    """Chinese glyphs without a system CJK font: point fontconfig at the Noto Sans SC that the PDF
    font package (a dependency) ships, besides the system's fonts."""
    import importlib.util

    spec = importlib.util.find_spec("pylopdf_fonts_zh_cn")
    if spec is None or not spec.submodule_search_locations:
        return {}
    conf = tmp / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
                    f"<dir>{list(spec.submodule_search_locations)[0]}</dir>"
                    f"<cachedir>{tmp / 'fontcache'}</cachedir></fontconfig>", encoding="utf-8")
    return {"FONTCONFIG_FILE": str(conf)}


def _shrink(path: Path) -> None:
    """A 256-colour palette PNG: screenshots of pages are flat colours, so this loses nothing visible."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


FACTS = """
import json, django
django.setup()
from ippledge.registry import search
from ippledge.registry.models import PledgeRight
link = PledgeRight.objects.filter(live=True).select_related("right", "pledge").order_by("pk").first()
right = link.right
cert = search.issue_certificate({"right": right.number})
print(json.dumps({
    "certificate": f"/registry/certificates/verify/?no={cert.certificate_no}&code={cert.verification_code}",
    "pledged-right": f"/rights/{right.kind}/{right.number}/",
    "pledge-search": f"/registry/?right={right.number}",
    "pledge-record": f"/registry/pledges/{link.pledge.registration_no}/",
}))
"""


def _facts(env: dict) -> dict[str, str]:
    """URLs of the demo region's objects worth showing (a pledged right, its search, a certificate)."""
    import json

    out = subprocess.run([sys.executable, "-c", FACTS], env={**env, "DJANGO_SETTINGS_MODULE": "ippledge.settings"},
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def _index(path: Path) -> None:
    lines = ["# Screenshots", "",
             f"Made by `docs/screenshots/make.py` from `ippledge demo --enterprises {ENTERPRISES} --rights {RIGHTS}` "
             "in Chromium, Chinese locale; 1366×900 unless the name starts with `phone-` (390×844). Run it again "
             "after changing a page; it prints each page's width, so a page wider than its screen shows up.", ""]
    for shot in SHOTS:
        who = f" (`{shot.login}`)" if shot.login else ""
        lines.append(f"- `{shot.name}.png` — {shot.caption}{who}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these screenshots (default: all)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    shots = [s for s in SHOTS if not args.names or s.name in args.names]
    chromium = shutil.which(os.environ.get("IPPLEDGE_CHROMIUM") or "/usr/bin/chromium")
    if chromium is None:
        print("No Chromium: install Debian's chromium or set IPPLEDGE_CHROMIUM.", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from ippledge.demo.generator import DEMO_PASSWORD

    tmp = Path(tempfile.mkdtemp(prefix="ippledge-shots-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "IPPLEDGE_DATA_DIR": str(tmp), "IPPLEDGE_DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
           "IPPLEDGE_PUBLIC_RATE_LIMIT": "0", "IPPLEDGE_LOGIN_THROTTLE_MAX_FAILURES": "1000"}
    print(f"loading the demo region into {tmp} …", flush=True)
    _cli(env, "demo", "--no-serve", "--enterprises", str(ENTERPRISES), "--rights", str(RIGHTS))
    server = _cli(env, "serve", "--port", str(port), background=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        special = _facts(env)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        env={**os.environ, "LANG": "zh_CN.UTF-8", **_fontconfig(tmp)},
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--lang=zh-CN"])
            contexts: dict[str | None, object] = {}
            for shot in shots:
                if shot.login not in contexts:
                    context = browser.new_context(base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai",
                                                  viewport={"width": WIDE[0], "height": WIDE[1]})
                    context.set_default_timeout(30_000)
                    page = context.new_page()
                    if shot.login:
                        page.goto("/login/")
                        page.locator("#id_username").fill(shot.login)
                        page.locator("#id_password").fill(DEMO_PASSWORD)
                        page.locator("main form button[type=submit]").click()
                        page.wait_for_load_state()
                    contexts[shot.login] = page
                page = contexts[shot.login]
                page.set_viewport_size({"width": shot.size[0], "height": shot.size[1]})
                url = special.get(shot.url, shot.url)
                if url == "menu":
                    page.goto("/credit/")
                    page.locator(".nav-toggle").click()
                elif url.startswith("find:"):
                    where, pattern = url[5:].split("|", 1)
                    page.goto(where)
                    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
                    found = next((h for h in hrefs if re.search(pattern, h)), None)
                    if found is None:
                        print(f"  {shot.name}: no link matching {pattern} on {where}; skipped")
                        continue
                    page.goto(where.split("?")[0] + found if found.startswith("?") else found)
                else:
                    page.goto(url)
                page.wait_for_load_state("networkidle")
                width = page.evaluate("document.documentElement.scrollWidth")
                path = args.out / f"{shot.name}.png"
                page.screenshot(path=str(path), full_page=shot.full)
                _shrink(path)
                flag = "  ← WIDER THAN THE SCREEN" if width > shot.size[0] else ""
                print(f"  {shot.name}.png  {page.url.removeprefix(base)}  scrollWidth {width}/{shot.size[0]}"
                      f"  {path.stat().st_size // 1024} KB{flag}", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.names:
        _index(args.out / "README.md")
    total = sum(f.stat().st_size for f in args.out.glob("*.png"))
    print(f"{len(list(args.out.glob('*.png')))} screenshots, {total / 1e6:.1f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
