"""Two languages: every string translated, the reader's choice remembered."""

import subprocess
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "workshops/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def test_every_string_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        ["pybabel", "extract", "-F", "workshops/translations/babel.cfg", "-k", "_l", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        env={"PATH": str(Path(__import__("sys").executable).parent)},
    )
    with pot.open("rb") as f:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    problems = []
    for msgid in sorted(wanted):
        message = catalogue.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif not (message.string if isinstance(message.string, str) else all(message.string)):
            problems.append(f"untranslated: {msgid!r}")
    assert problems == [], "\n".join(problems)


def test_accept_language_picks_chinese(client):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "即将举办的研讨会" in page


def test_language_switch_is_remembered_over_the_browser_setting(client):
    response = client.get("/language/zh?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "即将举办的研讨会" in page
    client.get("/language/en")
    assert "Upcoming workshops" in client.get("/", headers={"Accept-Language": "zh"}).get_data(as_text=True)


def test_language_switch_ignores_offsite_targets(client):
    assert client.get("/language/zh?next=https://evil.example").headers["Location"] == "/"
