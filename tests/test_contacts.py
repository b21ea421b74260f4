"""Phone numbers, names, genders and modes as people type them and as enterprises' files hold them."""

import pytest

from workshops.models import AttendanceMode, Gender
from workshops.services.contacts import (
    InvalidMobile,
    gender_from_word,
    mode_from_word,
    normalise_mobile,
    normalise_name,
    split_emails,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("+86-138-1234-5678", "+8613812345678"),
        ("(+86) 13812345678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("１３８１２３４５６７８", "+8613812345678"),  # full-width digits
        ("＋８６ １３８１２３４５６７８", "+8613812345678"),  # full-width plus and an ideographic space
        ("137-0000-1234", "+8613700001234"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_a_mobile_is_stored_in_e164_with_china_assumed(typed, stored):
    assert normalise_mobile(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "1.38123E+10",  # Excel's scientific notation: digits are gone
        "1.38123e10",
        "010-6512 3456转 8021",  # a landline with an extension
        "023-6386 1234 ext 12",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "23812345678",  # a Chinese number not starting with 1
        "+86 010 6512 3456",
        "call me",
        "138****5678",  # a masked number from a meeting export
        "+1234567",  # too short to be anyone's
        # Other scripts' digits are digits to str.isdigit, but no SMS provider dials them.
        "+44 ٧٩١١ ١٢٣٤٥٦",
        "+86 ১৩৮১২৩৪৫৬৭৮",
    ],
)
def test_what_cannot_be_a_mobile_says_why(app, typed):
    with pytest.raises(InvalidMobile) as refused:
        normalise_mobile(typed)
    assert str(refused.value.args[0])  # a message for the person (translated in the views)


def test_the_reason_is_in_the_readers_language(app):
    from flask_babel import force_locale

    with force_locale("zh_Hans_CN"), pytest.raises(InvalidMobile) as refused:
        normalise_mobile("1.38123E+10")
    with force_locale("zh_Hans_CN"):
        assert "科学计数法" in str(refused.value.args[0])


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("林　芳", "林芳"),  # ideographic space
        ("王  小 明", "王小明"),
        (" 李华 ", "李华"),
        ("Li   Hua", "Li Hua"),
        ("Zhang\u3000Wei", "Zhang Wei"),
        ("李 Hua", "李 Hua"),  # a space between scripts stays
    ],
)
def test_names_lose_the_spaces_chinese_names_do_not_have(typed, read):
    assert normalise_name(typed) == read


def test_a_cell_with_two_emails_gives_both_in_order():
    assert split_emails("li.hua＠example.cn；LH@example.org") == ["li.hua@example.cn", "LH@example.org"]
    assert split_emails(" ") == []


@pytest.mark.parametrize(
    ("word", "gender"),
    [
        ("女", Gender.WOMAN),
        ("女士", Gender.WOMAN),
        ("Female", Gender.WOMAN),
        ("F", Gender.WOMAN),
        ("woman", Gender.WOMAN),
        ("男", Gender.MAN),
        ("先生", Gender.MAN),
        ("MALE", Gender.MAN),
        ("m", Gender.MAN),
        ("undisclosed", Gender.UNDISCLOSED),
        ("?", None),
        ("", None),
    ],
)
def test_gender_words(word, gender):
    assert gender_from_word(word) == gender


@pytest.mark.parametrize(
    ("word", "mode"),
    [
        ("线下", AttendanceMode.ONSITE),
        ("现场", AttendanceMode.ONSITE),
        ("Onsite", AttendanceMode.ONSITE),
        ("线上", AttendanceMode.ONLINE),
        ("网络", AttendanceMode.ONLINE),
        ("online", AttendanceMode.ONLINE),
        ("both", None),
    ],
)
def test_mode_words(word, mode):
    assert mode_from_word(word) == mode
