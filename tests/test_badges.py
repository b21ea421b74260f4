"""Printable name badges for onsite participants."""

import re
import subprocess

import pytest

from tests.helpers import applicant
from workshops.models import Role
from workshops.services import badges, pdf
from workshops.services import registration as registrations


def test_badge_sheet_has_names_organisations_and_scannable_tickets(
    client, auth, make_user, make_workshop, tmp_path
):
    workshop = make_workshop(onsite_capacity=10)
    people = [
        registrations.register(
            workshop.id, applicant(1, full_name="李华", organisation="重庆工程职业技术学院")
        ).registration,
        registrations.register(
            workshop.id,
            applicant(
                2,
                full_name="Maria Fernandes-Oliveira da Silva Pereira",
                organisation="Guangzhou Industry Polytechnic",
            ),
        ).registration,
        registrations.register(workshop.id, applicant(3, full_name="在线的人", mode="online")).registration,
    ]
    auth.login(make_user(Role.COORDINATOR))
    response = client.get(f"/staff/workshops/{workshop.id}/badges.pdf")
    assert response.mimetype == "application/pdf"
    path = tmp_path / "badges.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "李华" in text and "重庆工程职业技术学院" in text and "Maria Fernandes" in text
    assert "在线的人" not in text  # online participants need no badge
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line or "WQY" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # the bundled CJK font, embedded
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(tmp_path / "page-1.png")], capture_output=True, text=True
    ).stdout.split()
    assert sorted(decoded) == sorted([people[0].ticket_token, people[1].ticket_token])


def test_eight_badges_a_page_and_long_names_keep_the_qr_on_the_badge(
    client, auth, make_user, make_workshop, tmp_path
):
    workshop = make_workshop(onsite_capacity=20)
    names = ["Bartholomew Featherstonehaugh", "W" * 40, "欧阳" * 30] + [f"参加者{n}" for n in range(13)]
    people = [
        registrations.register(
            workshop.id, applicant(n, full_name=name, organisation="很长的单位名称" * 12)
        ).registration
        for n, name in enumerate(names)
    ]
    auth.login(make_user(Role.COORDINATOR))
    path = tmp_path / "badges.pdf"
    path.write_bytes(client.get(f"/staff/workshops/{workshop.id}/badges.pdf").data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+2$", info, re.M), info  # 16 people, 8 a page
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    decoded = []
    for page in sorted(tmp_path.glob("page-*.png")):
        decoded += subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(page)], capture_output=True, text=True
        ).stdout.split()
    assert sorted(decoded) == sorted(p.ticket_token for p in people)  # every QR whole and readable


def test_long_names_get_a_smaller_size():
    assert badges.name_size("李华") == "xl"
    assert badges.name_size("Maria Fernandes-Oliveira da Silva Pereira") == "s"


def test_pdfs_never_fetch_from_the_network(app):
    with pytest.raises(pdf.BlockedURL):
        pdf.local_fetcher("https://fonts.googleapis.com/css")
    with pytest.raises(pdf.BlockedURL):
        pdf.local_fetcher("file:///etc/passwd")
    rendered = pdf.render_pdf('<p>x<img src="https://example.org/logo.png"></p>')
    assert rendered.startswith(b"%PDF")
