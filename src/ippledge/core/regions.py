"""Region names for GB/T 2260 division codes (``440000`` → 广东省 / Guangdong).

The code table is python-stdnum's ``cn/loc`` (GB/T 2260 with its history), so the platform ships no
copy of it.  English names: the provinces' customary English names below (public facts); below the
province, the pinyin of the Chinese name with its level word translated (深圳市 → Shenzhen)."""

from __future__ import annotations

import re
from functools import lru_cache

from django.utils.translation import get_language

PROVINCES_EN = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong", "41": "Henan",
    "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi", "46": "Hainan", "50": "Chongqing",
    "51": "Sichuan", "52": "Guizhou", "53": "Yunnan", "54": "Tibet", "61": "Shaanxi", "62": "Gansu",
    "63": "Qinghai", "64": "Ningxia", "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macao",
}
# Level words at the end of a name, longest first, and how English writes them.
_LEVEL_WORDS = [("自治州", " Autonomous Prefecture"), ("自治县", " Autonomous County"), ("地区", " Prefecture"),
                ("新区", " New Area"), ("市", ""), ("区", " District"), ("县", " County"), ("旗", " Banner"),
                ("盟", " League")]
_PERIOD = re.compile(r"\[[^\]]*\]")


def _current(name: str) -> str:
    """``[1983-1989]南头区办事处,[1990-]南山区`` → 南山区 (the latest name)."""
    return _PERIOD.sub("", name.split(",")[-1]).strip()


@lru_cache(maxsize=4096)
def _parts(code: str) -> tuple[tuple[str, str], ...]:
    """(level code, Chinese name) from the province down to the code itself; empty when unknown."""
    if not re.fullmatch(r"\d{6}", code or ""):
        return ()
    from stdnum import numdb

    db = numdb.get("cn/loc")
    out: list[tuple[str, str]] = []
    for level in (code[:2] + "0000", code[:4] + "00", code):
        if out and level == out[-1][0]:
            continue
        info = db.info(level)
        if len(info) < 2 or not info[0][1]:
            return ()
        name = info[1][1].get("county") or (info[0][1].get("province") if level.endswith("0000") else "")
        if not name:
            if level == code:
                return ()
            continue  # a prefecture code without a row of its own (e.g. 市辖区 levels)
        name = _current(name)
        if name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        out.append((level, name))
    return tuple(out)


def _english(level: str, name: str) -> str:
    if level.endswith("0000"):
        return PROVINCES_EN.get(level[:2], name)
    from pypinyin import lazy_pinyin

    for word, english in _LEVEL_WORDS:
        if name.endswith(word) and len(name) > len(word) + 1:
            stem = "".join(lazy_pinyin(name[: -len(word)]))
            return stem.capitalize() + english
    return "".join(lazy_pinyin(name)).capitalize()


def region_name(code: str | None, language: str | None = None) -> str:
    """The division's name in the page language: 广东省深圳市 in Chinese, "Shenzhen, Guangdong" in
    English.  An empty code shows nothing; an unknown one shows itself (the raw-code test finds it)."""
    code = (code or "").strip()
    if not code:
        return ""
    parts = _parts(code)
    if not parts:
        return code
    language = language or get_language() or "zh-hans"
    if language.startswith("zh"):
        return "".join(name for _, name in parts)
    return ", ".join(_english(level, name) for level, name in reversed(parts))


def is_region_code(code: str) -> bool:
    return bool(_parts(code))
