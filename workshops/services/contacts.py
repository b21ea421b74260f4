"""People's contact details and profile words as they are typed, pasted and exported.

One place for what a phone number, an email address, a name, a gender or an attendance mode
looks like once normalised, for every channel: the registration form, the API, walk-ins,
nomination lists and meeting reports. Inputs come from phones and from enterprises' Excel
files, so full-width characters (``１３８``, ``＋86``, ``＠``), ideographic spaces and Excel's
number formatting are expected, not exceptional.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from ..models import AttendanceMode, Gender

# E.164: a country code and at most 15 digits in all.
E164_MAX_DIGITS = 15
CHINA = "86"
_SEPARATORS = re.compile(r"[\s\-.()（）/]+")
_EXCEL_NUMBER = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")  # 1.38123E+10: digits lost for good
_CJK = r"\u3400-\u9fff\uf900-\ufaff"


class InvalidMobile(ValueError):
    """A phone number that cannot be a mobile; ``args[0]`` says why, for the person to fix."""


def nfkc(text: str | None) -> str:
    """Full-width letters, digits and symbols as their ordinary forms, trimmed."""
    return unicodedata.normalize("NFKC", text or "").strip()


def mobile_digits(raw: str | None) -> str:
    """The number with its separators (spaces, dashes, dots, brackets) taken out; "" if empty."""
    return _SEPARATORS.sub("", nfkc(raw))


def normalise_mobile(raw: str | None) -> str:
    """The number in E.164 (``+8613812345678``), ``+86`` when no country code is given.

    Raises ``InvalidMobile`` for what cannot be a mobile: letters, an extension (a landline
    with 转/ext), a number Excel turned into ``1.38123E+10``, a Chinese number that is not 11
    digits starting with 1. Empty input gives "".
    """
    text = nfkc(raw)
    if not text:
        return ""
    if _EXCEL_NUMBER.match(text.replace(" ", "")):
        raise InvalidMobile(
            _l("The spreadsheet turned this number into an exponent (like 1.38E+10) and lost digits.")
        )
    if "转" in text or re.search(r"ext|x\d", text, re.I):
        raise InvalidMobile(_l("This is a landline with an extension, not a mobile number."))
    digits = mobile_digits(text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    international = digits.startswith("+")
    digits = digits.lstrip("+")
    # ASCII only: str.isdigit also takes other scripts' digits, which no SMS provider dials.
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidMobile(_l("A phone number has digits only, with spaces, dashes or a leading +."))
    if not international:
        if len(digits) == 13 and digits.startswith(CHINA + "1"):
            international = True  # 8613812345678, the + dropped
        else:
            digits = CHINA + digits
    if digits.startswith(CHINA):
        national = digits[len(CHINA) :]
        if len(national) != 11 or not national.startswith("1"):
            raise InvalidMobile(_l("A Chinese mobile number has 11 digits and starts with 1."))
    elif not 8 <= len(digits) <= E164_MAX_DIGITS:
        raise InvalidMobile(_l("An international number has 8 to 15 digits after the +."))
    return "+" + digits


def normalise_name(raw: str | None) -> str:
    """A name as people read it: no spaces inside Chinese names (``林　芳`` → ``林芳``), single
    spaces between Latin words."""
    text = re.sub(r"\s+", " ", nfkc(raw))
    return re.sub(rf"(?<=[{_CJK}]) (?=[{_CJK}])", "", text)


def split_emails(raw: str | None) -> list[str]:
    """The addresses in a cell (``a@x.cn；b@y.cn``), in order; full-width ``＠`` read as ``@``."""
    return [part for part in re.split(r"[;,，；\s]+", nfkc(raw)) if part]


_GENDER_WORDS = {
    Gender.WOMAN: {"女", "女士", "female", "f", "woman", "w"},
    Gender.MAN: {"男", "先生", "male", "m", "man"},
}
_MODE_WORDS = {
    AttendanceMode.ONSITE: {
        "线下",
        "现场",
        "onsite",
        "on-site",
        "in person",
        "offline",
        "线下参会",
        "现场参会",
    },
    AttendanceMode.ONLINE: {"线上", "网络", "online", "remote", "线上参会", "网络参会", "视频"},
}


def gender_from_word(raw: str | None) -> Gender | None:
    """男/女/先生/女士/Male/Female/M/F (and the codes themselves) as a Gender; None if unknown."""
    word = nfkc(raw).lower()
    for gender in Gender:
        if word == gender.value:
            return gender
    return next((gender for gender, words in _GENDER_WORDS.items() if word in words), None)


def mode_from_word(raw: str | None) -> AttendanceMode | None:
    """线下/现场/onsite or 线上/网络/online (and the codes) as an AttendanceMode; None if unknown."""
    word = nfkc(raw).lower()
    return next((mode for mode, words in _MODE_WORDS.items() if word in words or word == mode.value), None)
