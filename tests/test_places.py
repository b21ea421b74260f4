"""Cities as data: the bundled list of divisions, free text matched to it, the form's province and
city, the API, nominations lists, the migration, places mapped once by a coordinator, the
export's round trip and the programme report by city and province."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook

from tests.helpers import applicant, form_data
from workshops.divisions import DIVISIONS_FILE, divisions, full_label, match
from workshops.models import (
    AuditEvent,
    PlaceAlias,
    Programme,
    Registration,
    RegistrationSource,
    Role,
    WorkshopFormat,
)
from workshops.services import checkin, exports, nominations, places, reports
from workshops.services import registration as registrations

ZH = {"Accept-Language": "zh-CN"}


# ---- the list -------------------------------------------------------------------------------------


def test_the_list_has_every_province_and_prefecture_level_city_with_codes_and_names():
    table = divisions()
    provinces = [d for d in table.values() if not d.is_city]
    cities = [d for d in table.values() if d.is_city]
    data = json.loads(DIVISIONS_FILE.read_text(encoding="utf-8"))
    mainland = [p for p in data["provinces"] if not p.get("outside_mainland")]
    assert len(mainland) == 31 and {p["code"] for p in data["provinces"]} - {p["code"] for p in mainland} == {
        "71",
        "81",
        "82",
    }
    assert len(provinces) == 34
    # 333 prefecture-level divisions (2023 NBS codes), and each municipality as its one city.
    assert len(cities) == 337
    assert all(re.fullmatch(r"\d{2}", p.code) for p in provinces)
    assert all(re.fullmatch(r"\d{4}", c.code) and c.code[:2] == c.province for c in cities)
    assert all(c.zh and c.en and c.en.isascii() or "ü" in c.en for c in cities)
    for code in ("71", "81", "82"):  # Hong Kong, Macao, Taiwan: provincial level, no city
        assert not [c for c in cities if c.province == code]
    assert (table["3204"].zh, table["3204"].en) == ("常州市", "Changzhou")
    assert (table["1101"].zh, table["5001"].en) == ("北京市", "Chongqing")
    assert table["2224"].zh == "延边朝鲜族自治州" and table["1525"].zh == "锡林郭勒盟"
    assert table["6529"].zh == "阿克苏地区" and table["61"].en == "Shaanxi" and table["14"].en == "Shanxi"
    assert "source" in data and "china-division" in data["source"]


# ---- free text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("江苏常州", "3204"),
        ("常州", "3204"),
        ("常州市", "3204"),
        ("江苏省常州市", "3204"),
        ("Changzhou", "3204"),
        ("changzhou city", "3204"),
        ("Changzhou, Jiangsu", "3204"),
        ("江苏　常州", "3204"),  # an ideographic space
        ("中国江苏常州", "3204"),
        ("常州武进区", "3204"),
        ("Beijing", "1101"),
        ("ＢＥＩＪＩＮＧ", "1101"),  # full-width letters
        ("北京", "1101"),
        ("北京市", "1101"),
        ("Beijing, China", "1101"),
        ("上海 浦东", "3101"),
        ("重庆", "5001"),
        ("江苏", "32"),
        ("江苏省", "32"),
        ("Jiangsu Province", "32"),
        ("香港", "81"),
        ("吉林", "22"),  # the province; its city is 吉林市
        ("吉林市", "2202"),
        ("Jilin City", "2202"),
        ("海南", "46"),
        ("青海海南", "6325"),
        ("Xi'an", "6101"),
        ("陕西西安", "6101"),
        ("Shanxi", "14"),
        ("Shaanxi", "61"),
        ("Jiangsu Suzhou", "3205"),
        ("Anhui Suzhou", "3413"),
        ("恩施州", "4228"),
        ("Hohhot", "1501"),
        ("Tibet", "54"),
    ],
)
def test_free_text_is_matched_to_its_division(text, code):
    assert match(text) == code


@pytest.mark.parametrize(
    "text", ["Suzhou", "Taizhou", "Fuzhou", "Geneva", "中山大学", "", "   ", "某某公司", "江苏 仙桃"]
)
def test_ambiguous_or_unknown_text_matches_nothing(text):
    """Suzhou is 苏州 (Jiangsu) and 宿州 (Anhui): a guess would count one city's people in another."""
    assert match(text) is None


def test_labels_in_both_languages():
    assert (full_label("3204", "zh"), full_label("3204", "en")) == ("江苏省常州市", "Changzhou, Jiangsu")
    assert (full_label("1101", "zh"), full_label("1101", "en")) == ("北京市", "Beijing")
    assert (places.label("32", "zh"), places.label("", "en"), full_label("9999", "en")) == ("江苏省", "", "")


# ---- the registration form ----------------------------------------------------------------------


def register_page(client, workshop, headers=None):
    return client.get(f"/workshops/{workshop.id}", headers=headers or {}).get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "province", "city", "other"),
    [
        ({}, "Jiangsu", "Changzhou", "Other / outside mainland China"),
        (ZH, "江苏省", "常州市", "其他 / 中国大陆以外"),
    ],
)
def test_the_form_offers_provinces_and_cities_in_the_readers_language(
    client, make_workshop, headers, province, city, other
):
    page = register_page(client, make_workshop(), headers)
    assert f'<option value="32">{province}</option>' in page
    assert f'<option value="3204">{city}</option>' in page
    assert f'<option value="other">{other}</option>' in page
    assert f'<optgroup label="{province}">' in page  # without script: every city, by province
    assert "/static/js/places.js" in page


def test_a_city_chosen_from_the_lists_is_stored_as_its_code(client, make_workshop, db):
    workshop = make_workshop()
    data = form_data(1, province="32", place_code="3204", city="")
    response = client.post(f"/workshops/{workshop.id}/register", data=data)
    assert response.status_code == 302
    person = db.session.scalar(sa.select(Registration).where(Registration.workshop_id == workshop.id))
    assert (person.place_code, person.city) == ("3204", "")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Changzhou is not in Beijing: choose a city of that province, or another province."),
        (ZH, "常州市不在北京市：请选择该省的城市，或另选省份。"),
    ],
)
def test_a_city_outside_the_chosen_province_is_refused_with_a_message(
    client, make_workshop, db, headers, message
):
    workshop = make_workshop()
    data = form_data(1, province="11", place_code="3204", city="")
    response = client.post(f"/workshops/{workshop.id}/register", data=data, headers=headers)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0


@pytest.mark.parametrize(
    ("headers", "message"), [({}, "Choose your city from the list."), (ZH, "请从列表中选择城市。")]
)
def test_a_code_not_in_the_list_is_refused(client, make_workshop, db, headers, message):
    workshop = make_workshop()
    data = form_data(1, province="", place_code="9999", city="")
    response = client.post(f"/workshops/{workshop.id}/register", data=data, headers=headers)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_other_keeps_the_text_and_needs_one(client, make_workshop, db):
    workshop = make_workshop()
    empty = client.post(
        f"/workshops/{workshop.id}/register", data=form_data(1, province="other", city=""), headers=ZH
    )
    assert empty.status_code == 422 and "请填写城市和国家" in empty.get_data(as_text=True)
    geneva = client.post(
        f"/workshops/{workshop.id}/register",
        data=form_data(2, province="other", place_code="", city="Geneva, Switzerland"),
    )
    assert geneva.status_code == 302
    person = db.session.scalar(sa.select(Registration).where(Registration.workshop_id == workshop.id))
    assert (person.place_code, person.city) == ("", "Geneva, Switzerland")


def test_a_province_without_a_city_and_a_municipality(client, make_workshop, db):
    workshop = make_workshop()
    client.post(f"/workshops/{workshop.id}/register", data=form_data(1, province="42", city="仙桃"))
    client.post(f"/workshops/{workshop.id}/register", data=form_data(2, province="31", city=""))
    rows = db.session.execute(
        sa.select(Registration.place_code, Registration.city).order_by(Registration.id)
    ).all()
    assert [tuple(r) for r in rows] == [("42", "仙桃"), ("3101", "")]  # 仙桃: county-level, kept as text


def test_staff_edit_shows_and_changes_the_place(client, auth, make_user, make_workshop, db):
    workshop = make_workshop()
    person = registrations.register(workshop.id, applicant(1, city="江苏常州")).registration
    auth.login(make_user(Role.COORDINATOR))
    url = f"/staff/workshops/{workshop.id}/registrations/{person.id}"
    page = client.get(url).get_data(as_text=True)
    assert '<option selected value="32">' in page and '<option selected value="3204">' in page
    data = {
        name: getattr(person, name)
        for name in ("full_name", "email", "mobile", "organisation", "job_title", "language")
    }
    data.update(organisation_type="tvet", gender="woman", province="32", place_code="1101")
    refused = client.post(url, data=data)
    assert "Beijing is not in Jiangsu" in refused.get_data(as_text=True)
    data.update(province="11")
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, person.id).place_code == "1101"


# ---- the API ------------------------------------------------------------------------------------


def test_the_api_takes_a_code_or_text_and_refuses_an_unknown_code(client, make_workshop, db):
    workshop = make_workshop()
    url = f"/api/v1/workshops/{workshop.id}/registrations"
    body = dict(full_name="李华", mode="onsite", consent=True)
    assert client.post(url, json=dict(body, email="a@example.org", place_code="3204")).status_code == 201
    assert client.post(url, json=dict(body, email="b@example.org", city="江苏常州")).status_code == 201
    assert client.post(url, json=dict(body, email="c@example.org", city="Lyon, France")).status_code == 201
    refused = client.post(url, json=dict(body, email="d@example.org", place_code="9999"), headers=ZH)
    assert refused.status_code == 422 and refused.json["errors"]["place_code"] == ["请从列表中选择城市。"]
    rows = db.session.execute(
        sa.select(Registration.email, Registration.place_code, Registration.city).order_by(Registration.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("a@example.org", "3204", ""),
        ("b@example.org", "3204", ""),
        ("c@example.org", "", "Lyon, France"),
    ]


# ---- nominations lists ----------------------------------------------------------------------------


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def nomination_list(city_header: str) -> bytes:
    """An enterprise's list as REAL_FILES.md describes it: title rows, 序号, a totals row."""
    return xlsx(
        [
            ["常州某某职业技术学院 推荐学员名单"],
            ["填报单位（盖章）：常州某某职业技术学院", None, None, "联系人：周老师"],
            ["序号", "姓名", "手机号码", "电子邮箱 Email", city_header],
            [1, "周敏", "13900001001", "zhou.min@example.cn", "江苏常州"],
            [2, "吴磊", "13900001002", "", "常州市"],
            [3, "Anna Müller", "", "anna@example.de", "Beijing"],
            [4, "陈家豪", "+852 9123 4567", "chan@example.hk", "香港"],
            [5, "郑芳", "13900001005", "", None],
            [6, "刘洋", "13900001006", "", "江苏 仙桃"],
            ["合计：6人"],
        ]
    )


@pytest.mark.parametrize("header", ["城市", "所在城市", "地区", "城市 City"])
def test_a_nominations_list_city_column_is_matched_and_unmatched_text_kept(make_workshop, db, header):
    workshop = make_workshop(format=WorkshopFormat.ONSITE)
    report = nominations.import_file(workshop, "名单.xlsx", nomination_list(header), notify=False)
    assert len(report.created) == 6 and not report.refused  # never refused for its city
    rows = db.session.execute(
        sa.select(Registration.full_name, Registration.place_code, Registration.city)
        .where(Registration.workshop_id == workshop.id)
        .order_by(Registration.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("周敏", "3204", ""),
        ("吴磊", "3204", ""),
        ("Anna Müller", "1101", ""),
        ("陈家豪", "81", ""),
        ("郑芳", "", ""),
        ("刘洋", "", "江苏 仙桃"),
    ]


def test_the_preview_shows_the_division_a_city_was_matched_to(client, auth, make_user, make_workshop):
    workshop = make_workshop(format=WorkshopFormat.ONSITE)
    auth.login(make_user(Role.COORDINATOR))
    response = client.post(
        f"/staff/workshops/{workshop.id}/import",
        data={"file": (io.BytesIO(nomination_list("城市")), "名单.xlsx")},
        content_type="multipart/form-data",
        headers=ZH,
    )
    page = client.get(response.headers["Location"], headers=ZH).get_data(as_text=True)
    assert "<td>常州市</td>" in page and "<td>北京市</td>" in page and "<td>江苏 仙桃</td>" in page


# ---- the migration --------------------------------------------------------------------------------


def test_the_migration_maps_existing_free_text_and_the_downgrade_keeps_it(make_workshop, db):
    from flask_migrate import downgrade, upgrade

    workshop = make_workshop()
    typed = ["江苏常州", "Beijing", "常州市", "Geneva", "", "Suzhou", "上海 浦东"]
    ids = [
        registrations.register(workshop.id, applicant(n, city="")).registration.id for n in range(len(typed))
    ]
    db.session.close()
    downgrade(revision="a7e3c9d1f5b2")  # before places: only the free text
    with db.engine.begin() as conn:
        assert "place_code" not in {c["name"] for c in sa.inspect(conn).get_columns("registration")}
        for id_, text in zip(ids, typed, strict=True):
            conn.execute(
                sa.text("UPDATE registration SET city = :text WHERE id = :id"), {"text": text, "id": id_}
            )
    upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT city, place_code FROM registration ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("江苏常州", "3204"),
        ("Beijing", "1101"),
        ("常州市", "3204"),
        ("Geneva", ""),
        ("", ""),
        ("Suzhou", ""),  # two cities of that name: left for a coordinator
        ("上海 浦东", "3101"),
    ]
    downgrade(revision="a7e3c9d1f5b2")
    with db.engine.connect() as conn:
        assert [r[0] for r in conn.execute(sa.text("SELECT city FROM registration ORDER BY id"))] == typed
    upgrade()


# ---- places to map --------------------------------------------------------------------------------


@pytest.fixture
def programme(db):
    mine = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    other = Programme(code="OT", name_en="Another city's programme")
    db.session.add_all([mine, other])
    db.session.commit()
    return mine, other


def limited(make_user, db, role, *programmes):
    user = make_user(role)
    user.programmes.extend(programmes)
    db.session.commit()
    return user


def test_places_to_map_lists_unmatched_text_maps_it_once_audited_and_remembers_it(
    client, auth, make_user, make_workshop, programme, db
):
    workshop = make_workshop(programme=programme[0])
    for n, text in enumerate(["Suzhou", "Suzhou", "苏州工业园", "Geneva", "常州"]):
        registrations.register(workshop.id, applicant(n, city=text))
    coordinator = make_user(Role.COORDINATOR)  # sees every programme: the mapping is remembered
    auth.login(coordinator)
    url = f"/staff/workshops/{workshop.id}/places"
    page = client.get(url, headers=ZH).get_data(as_text=True)
    assert "待对应的地点" in page
    listed = re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', page)
    assert listed == [("Suzhou", "2"), ("Geneva", "1"), ("苏州工业园", "1")]  # 常州 matched already
    response = client.post(url, data={"text": "Suzhou", "place_code": "3205"}, follow_redirects=True)
    assert "2 registrations now show Suzhou, Jiangsu" in response.get_data(as_text=True)
    db.session.expire_all()
    codes = db.session.execute(
        sa.select(Registration.city, Registration.place_code).order_by(Registration.id)
    ).all()
    assert [tuple(c) for c in codes][:3] == [("Suzhou", "3205"), ("Suzhou", "3205"), ("苏州工业园", "")]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "place.mapped"))
    assert (
        event.actor_id == coordinator.id
        and event.details["rows"] == 2
        and event.details["place_code"] == "3205"
    )
    assert db.session.get(PlaceAlias, "suzhou").place_code == "3205"
    # Later: an import and a registration with the same text map by themselves.
    later = make_workshop(programme=programme[0], title_en="The next one", format=WorkshopFormat.ONSITE)
    data = xlsx(
        [
            ["某某公司 推荐学员名单"],
            ["序号", "姓名", "手机号码", "所在城市"],
            [1, "孙丽", "13900002001", "suzhou"],
            ["合计：1人"],
        ]
    )
    nominations.import_file(later, "名单.xlsx", data, notify=False)
    registrations.register(later.id, applicant(9, city="SUZHOU "))
    assert [
        tuple(r)
        for r in db.session.execute(
            sa.select(Registration.place_code, Registration.city).where(Registration.workshop_id == later.id)
        )
    ] == [("3205", ""), ("3205", "")]
    # The programme's page lists what is left across its workshops.
    programme_page = client.get(f"/staff/programmes/{programme[0].id}/places").get_data(as_text=True)
    left = re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', programme_page)
    assert left == [("Geneva", "1"), ("苏州工业园", "1")]


def test_a_place_code_not_in_the_list_is_refused_and_nothing_changes(
    client, auth, make_user, make_workshop, db
):
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(1, city="Suzhou"))
    auth.login(make_user(Role.COORDINATOR))
    response = client.post(
        f"/staff/workshops/{workshop.id}/places", data={"text": "Suzhou", "place_code": "99"}, headers=ZH
    )
    assert response.status_code == 422 and "请从列表中选择城市。" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlaceAlias)) == 0
    assert db.session.scalar(sa.select(Registration.place_code)) == ""


@pytest.mark.parametrize("role", [Role.REPORTER, Role.ORGANISER])
def test_places_to_map_is_for_schedulers_only(client, auth, make_user, make_workshop, programme, db, role):
    workshop = make_workshop(programme=programme[0])
    registrations.register(workshop.id, applicant(1, city="Suzhou"))
    auth.login(limited(make_user, db, role, programme[0]))
    assert client.get(f"/staff/workshops/{workshop.id}/places").status_code == 403
    refused = client.post(
        f"/staff/workshops/{workshop.id}/places", data={"text": "Suzhou", "place_code": "3205"}
    )
    assert refused.status_code == 403
    assert db.session.scalar(sa.select(Registration.place_code)) == ""


def test_a_coordinator_of_another_programme_cannot_map_its_places(
    client, auth, make_user, make_workshop, programme, db
):
    workshop = make_workshop(programme=programme[0])
    registrations.register(workshop.id, applicant(1, city="Suzhou"))
    auth.login(limited(make_user, db, Role.COORDINATOR, programme[1]))
    assert client.get(f"/staff/programmes/{programme[0].id}/places").status_code == 403
    assert client.get(f"/staff/workshops/{workshop.id}/places").status_code == 403
    refused = client.post(
        f"/staff/programmes/{programme[0].id}/places", data={"text": "Suzhou", "place_code": "3205"}
    )
    assert refused.status_code == 403 and db.session.scalar(sa.select(Registration.place_code)) == ""


def test_a_limited_coordinator_maps_its_own_workshops_places_but_remembers_nothing_for_others(
    client, auth, make_user, make_workshop, programme, db
):
    workshop = make_workshop(programme=programme[0])
    registrations.register(workshop.id, applicant(1, city="Suzhou"))
    auth.login(limited(make_user, db, Role.COORDINATOR, programme[0]))
    response = client.post(
        f"/staff/workshops/{workshop.id}/places", data={"text": "Suzhou", "place_code": "3205"}, headers=ZH
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Registration.place_code)) == "3205"
    # No alias: "Suzhou" in another programme's next import stays as typed, to be mapped there.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlaceAlias)) == 0
    other = make_workshop(programme=programme[1], title_en="Another programme's")
    registrations.register(other.id, applicant(2, city="Suzhou"))
    assert (
        db.session.scalar(sa.select(Registration.place_code).where(Registration.workshop_id == other.id))
        == ""
    )


@pytest.mark.parametrize("text", ["Lyon", "x" * 101, ""])
def test_only_a_place_the_page_lists_can_be_mapped(client, auth, make_user, make_workshop, db, text):
    """A text nobody of the workshop gave (or longer than any), posted by hand, maps nothing."""
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(1, city="Suzhou"))
    auth.login(make_user(Role.COORDINATOR))
    response = client.post(
        f"/staff/workshops/{workshop.id}/places", data={"text": text, "place_code": "3205"}, headers=ZH
    )
    assert response.status_code == 422 and "没有这个待对应的地点" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlaceAlias)) == 0
    assert db.session.scalar(sa.select(Registration.place_code)) == ""


# ---- the roster and the export --------------------------------------------------------------------


PLACES = ["江苏常州", "常州市", "Beijing", "香港", "", "Geneva, Switzerland", "苏州市"]


def test_the_roster_filters_by_city_and_by_province(client, auth, make_user, make_workshop):
    workshop = make_workshop()
    for n, text in enumerate(PLACES):
        registrations.register(workshop.id, applicant(n, full_name=f"人{n}", city=text))
    auth.login(make_user(Role.COORDINATOR))
    url = f"/staff/workshops/{workshop.id}/registrations"

    def names(query):
        page = client.get(url + query).get_data(as_text=True)
        return sorted(set(re.findall(r"人\d", page)))

    assert names("?city=3204") == ["人0", "人1"]
    assert names("?city=32") == ["人0", "人1", "人6"]
    assert names("?city=Geneva, Switzerland") == ["人5"]
    page = client.get(url, headers=ZH).get_data(as_text=True)
    assert '<option value="32" >江苏省</option>' in page or '<option value="32">江苏省</option>' in page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_export_has_province_and_city_columns_and_reimports_into_the_same_places(
    client, auth, make_user, make_workshop, db, lang
):
    source, target = make_workshop(), make_workshop(title_en="The next one", title_zh="下一期")
    typed = [
        ("江苏常州", ""),
        ("", "42"),
        ("Beijing", ""),
        ("香港", ""),
        ("Geneva, Switzerland", ""),
        ("", ""),
    ]
    for n, (text, province) in enumerate(typed):
        registrations.register(
            source.id, applicant(n, city=text or ("仙桃" if province else ""), province=province)
        )
    auth.login(make_user(Role.COORDINATOR))
    data = client.get(f"/staff/workshops/{source.id}/registrations/export.xlsx?lang={lang}").data
    sheet = load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=exports.HEADER_ROW)]
    header = rows[0]
    province, city = (
        header.index({"zh": "省份", "en": "Province"}[lang]),
        header.index({"zh": "城市", "en": "City"}[lang]),
    )
    shown = [(row[province], row[city]) for row in rows[1:]]
    expected = {
        "zh": [
            ("江苏省", "常州市"),
            ("湖北省", "仙桃"),
            ("北京市", "北京市"),
            ("香港特别行政区", None),
            (None, "Geneva, Switzerland"),
            (None, None),
        ],
        "en": [
            ("Jiangsu", "Changzhou"),
            ("Hubei", "仙桃"),
            ("Beijing", "Beijing"),
            ("Hong Kong", None),
            (None, "Geneva, Switzerland"),
            (None, None),
        ],
    }[lang]
    assert shown == expected
    nominations.import_file(target, "registrations.xlsx", data, notify=False)

    def places_of(workshop):
        return [
            tuple(r)
            for r in db.session.execute(
                sa.select(Registration.place_code, Registration.city)
                .where(Registration.workshop_id == workshop.id)
                .order_by(Registration.id)
            )
        ]

    assert (
        places_of(target)
        == places_of(source)
        == [("3204", ""), ("42", "仙桃"), ("1101", ""), ("81", ""), ("", "Geneva, Switzerland"), ("", "")]
    )


# ---- the programme report -------------------------------------------------------------------------


def held_programme(make_workshop, db, places_typed):
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    db.session.add(programme)
    db.session.commit()
    start = datetime.now(UTC) - timedelta(days=10)
    workshop = make_workshop(programme=programme, starts_at=start, ends_at=start + timedelta(days=1))
    for n, text in enumerate(places_typed):
        registration = registrations.register(
            workshop.id, applicant(n, city=text), source=RegistrationSource.WALK_IN
        ).registration
        checkin.redeem(workshop.sessions[0], registration=registration, override=True)
    return programme


def test_the_report_counts_by_city_and_by_province(make_workshop, db):
    # 常州 three ways, 苏州 once, Beijing once, abroad once, not given once: seven people.
    programme = held_programme(
        make_workshop, db, ["常州", "江苏常州", "Changzhou", "苏州市", "Beijing", "Geneva", ""]
    )
    report = reports.programme_report(programme)
    city = [(s.code, s.count, s.percent) for s in report["breakdown"]["city"]]
    assert city == [
        ("3204", 3, 42.9),
        ("1101", 1, 14.3),
        ("3205", 1, 14.3),
        ("Geneva", 1, 14.3),
        ("", 1, 14.3),
    ]
    by_province = [(s.code, s.count, s.percent) for s in report["breakdown"]["province"]]
    assert by_province == [
        ("32", 4, 57.1),
        ("11", 1, 14.3),
        (reports.OTHER_PLACES_CODE, 1, 14.3),
        ("", 1, 14.3),
    ]
    with force_locale("zh_Hans_CN"):
        assert [str(s.label) for s in report["breakdown"]["province"]] == [
            "江苏省",
            "北京市",
            "其他 / 中国大陆以外",
            "未填写",
        ]
        assert str(report["breakdown"]["city"][0].label) == "江苏省常州市"
    with force_locale("en"):
        assert str(report["breakdown"]["city"][0].label) == "Changzhou, Jiangsu"


def test_the_report_page_shows_the_province_breakdown(client, auth, make_user, make_workshop, db):
    programme = held_programme(make_workshop, db, ["常州", "江苏常州", "Beijing"])
    auth.login(make_user(Role.COORDINATOR))
    page = client.get(f"/staff/programmes/{programme.id}/report", headers=ZH).get_data(as_text=True)
    assert "<h3>省份</h3>" in page and '<th scope="row">江苏省</th><td>2</td>' in page
    assert '<th scope="row">江苏省常州市</th><td>2</td>' in page


def test_report_readers_see_small_cities_and_small_provinces_pooled(make_workshop, db):
    programme = held_programme(make_workshop, db, ["常州"] * 5 + ["苏州", "Beijing", "上海", "天津"])
    report = reports.programme_report(programme, aggregates_only=True)
    city = [(s.code, s.count) for s in report["breakdown"]["city"]]
    assert city == [("3204", 5), (reports.OTHER_CITIES_CODE, reports.FEW)]
    # Beijing, Shanghai and Tianjin one each: not three "<5" lines that point at three people.
    assert [(s.code, s.count) for s in report["breakdown"]["province"]] == [
        ("32", 6),
        (reports.OTHER_PROVINCES_CODE, reports.FEW),
    ]
    with force_locale("zh_Hans_CN"):
        assert str(report["breakdown"]["province"][1].label) == "其他省份"
