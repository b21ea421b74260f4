"""Mainland China's provinces and prefecture-level cities (GB/T 2260 codes) and the matching of
free text to them: standard library only, so that a migration can use it (migrations must not
import the models or services of a later day). The data is ``data/divisions.json`` (see its
README for the source and licence)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

DIVISIONS_FILE = Path(__file__).resolve().parent / "data" / "divisions.json"
MUNICIPALITIES = ("11", "12", "31", "50")


@dataclass(frozen=True)
class Division:
    code: str
    zh: str
    en: str
    province: str  # its own code for a province

    @property
    def is_city(self) -> bool:
        return len(self.code) == 4

    def label(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


# ---- the list --------------------------------------------------------------------------------


@cache
def tables() -> tuple[dict[str, Division], dict[str, list[str]], dict[str, set[str]]]:
    """The divisions by code, each province's cities, and every key a text can match."""
    data = json.loads(DIVISIONS_FILE.read_text(encoding="utf-8"))
    divisions: dict[str, Division] = {}
    cities_of: dict[str, list[str]] = {}
    keys: dict[str, set[str]] = {}
    province_shorts = {p["short"] for p in data["provinces"]}

    def add(key: str, code: str) -> None:
        for variant in {key, key.replace("ü", "v"), key.replace("ü", "u")}:
            if variant:
                keys.setdefault(variant, set()).add(code)

    for p in data["provinces"]:
        divisions[p["code"]] = Division(p["code"], p["zh"], p["en"], p["code"])
        cities_of[p["code"]] = []
        for word in (p["zh"], p["short"], p["en"], *p.get("aliases", [])):
            add(normalise(word), p["code"])
    for c in data["cities"]:
        divisions[c["code"]] = Division(c["code"], c["zh"], c["en"], c["province"])
        cities_of[c["province"]].append(c["code"])
        if c["province"] in MUNICIPALITIES:
            continue  # matched through its province (北京, 北京市, Beijing)
        words = [c["zh"], _latin_core(c["en"]), *(_latin_core(a) for a in c.get("aliases", []))]
        if c["short"] not in province_shorts:  # 海南 and 吉林 alone are the provinces
            words.append(c["short"])
        for word in words:
            add(normalise(word), c["code"])
    return divisions, cities_of, keys


def divisions() -> dict[str, Division]:
    return tables()[0]


def get(code: str) -> Division | None:
    return divisions().get(code or "")


def province_of(code: str) -> Division | None:
    return get((code or "")[:2]) if code else None


def label(code: str, language: str) -> str:
    """A division's name in ``language`` (zh: 常州市, en: Changzhou); "" for no or an unknown code."""
    division = get(code)
    return division.label(language) if division else ""


def full_label(code: str, language: str) -> str:
    """Where a code is, province included: 江苏省常州市 / Changzhou, Jiangsu (a municipality once)."""
    division, province = get(code), province_of(code)
    if division is None or province is None:
        return ""
    if not division.is_city or division.province in MUNICIPALITIES:
        return province.label(language)
    if language == "zh":
        return province.zh + division.zh
    return f"{division.en}, {province.en}"


# ---- matching free text ------------------------------------------------------------------------

_PUNCTUATION = re.compile(r"[\s'’`·•.,，、。;；:：/\\|()（）\[\]【】\"“”\-_]+")
# Words around a place name that do not change which place it is.
_LATIN_NOISE = re.compile(
    r"\b(?:city|shi|province|sheng|prefecture|municipality|autonomous|region|league|special|"
    r"administrative|sar|district|p\.?r\.?c|china|people'?s republic of)\b"
)
_COUNTRY = re.compile(r"^(?:中华人民共和国|中国)")
# What may follow a city's name in a street-level answer (常州武进区, 苏州工业园区).
_LOCAL_TAIL = re.compile(r"(?:区|县|市|镇|乡|街道|新区|开发区|园区)$")


def normalise(text: str) -> str:
    """Text as it is compared: NFKC (full-width letters and spaces), lower case, no spaces or
    punctuation, no 中国 in front."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return _COUNTRY.sub("", _PUNCTUATION.sub("", folded))


def _latin_core(text: str) -> str:
    return _LATIN_NOISE.sub(" ", unicodedata.normalize("NFKC", text or "").lower())


@lru_cache(maxsize=4096)  # a nominations list repeats its cities
def match(text: str) -> str | None:
    """The division free text names (a city's 4-digit code, a province's 2 digits), or None
    when it names none or several (苏州 is one city, Suzhou two: 江苏 and 安徽)."""
    return _match(text, reorder=True)


def _match(text: str, reorder: bool = False) -> str | None:
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw:
        return None
    wants_city = bool(re.search(r"\bcity\b|\bshi\b|市$", raw.lower()))
    key = normalise(_latin_core(raw) if raw.isascii() else raw)
    if not key:
        return None
    table, cities_of, keys = tables()
    found = _exact(key, keys, table, wants_city)
    if found is None and key[-1:] in ("州", "盟"):  # 恩施州, 延边州: the prefecture's short form
        found = _exact(key[:-1], keys, table, True)
    if found is not None:
        return found or None
    # A province first, then a city of it, or (in a municipality) anything: 江苏常州, 上海 浦东.
    for prefix in _prefixes(key, keys):
        provinces = [c for c in keys[prefix] if len(c) == 2]
        if len(provinces) != 1:
            continue
        province = provinces[0]
        rest = key[len(prefix) :]
        if province in MUNICIPALITIES:
            return cities_of[province][0]
        in_province = keys.get(rest, set()) | keys.get(rest.removesuffix("市"), set())
        city = {c for c in in_province if c.startswith(province) and len(c) == 4}
        if not city and len(rest) >= 2:  # a name the list keeps for the province alone (青海海南)
            city = {c for c in cities_of[province] if table[c].zh.startswith(rest)}
        if len(city) == 1:
            return city.pop()
        if rest in ("省", "sheng", "province"):
            return province
    # A city and a district of it (常州武进区), Chinese only: a Latin tail could be anything.
    if not raw.isascii() and _LOCAL_TAIL.search(key):
        for prefix in _prefixes(key, keys):
            cities = {c for c in keys[prefix] if len(c) == 4}
            if len(cities) == 1 and len(prefix) >= 2:
                return cities.pop()
    # The English order, the city first: "Changzhou, Jiangsu".
    parts = [part for part in re.split(r"[,，\s]+", raw) if part]
    if reorder and raw.isascii() and len(parts) == 2:
        return _match(f"{parts[1]} {parts[0]}")
    return None


def _prefixes(key: str, keys) -> list[str]:
    """The keys ``key`` starts with (itself excluded), longest first."""
    return [key[:end] for end in range(len(key) - 1, 0, -1) if key[:end] in keys]


def _exact(key: str, keys, table, wants_city: bool) -> str | None:
    """The exact key's division ("" for an ambiguous key; None: not a key)."""
    codes = keys.get(key)
    if not codes:
        return None
    provinces = [c for c in codes if len(c) == 2]
    cities = [c for c in codes if len(c) == 4]
    if provinces and not (wants_city and len(cities) == 1):
        province = provinces[0]
        if province in MUNICIPALITIES:
            return tables()[1][province][0]
        return province if len(provinces) == 1 else ""
    return cities[0] if len(cities) == 1 else ""
