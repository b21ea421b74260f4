"""Demo data: the programme's three real events, with realistic people, for ``make run``."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, inspect, select
from werkzeug.security import check_password_hash

from .config import ConfigError
from .extensions import db
from .models import (
    AttendanceMode,
    Gender,
    OrganisationType,
    Programme,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Role,
    Session,
    User,
    Workshop,
    WorkshopFormat,
    WorkshopStatus,
)
from .models.base import utcnow
from .services import users

SHANGHAI = ZoneInfo("Asia/Shanghai")

STAFF = [
    ("admin@example.org", Role.ADMIN, "Programme Admin", "demo-admin-pass"),
    ("coordinator@example.org", Role.COORDINATOR, "Wang Fang 王芳", "demo-coordinator-pass"),
    ("organiser@example.org", Role.ORGANISER, "Liu Yang 刘洋", "demo-organiser-pass"),
]

ORGANISATIONS = [
    ("重庆长江精密机械有限公司", OrganisationType.ENTERPRISE, "重庆"),
    ("Chongqing Yuxin Auto Parts Co., Ltd.", OrganisationType.ENTERPRISE, "Chongqing"),
    ("常州恒泰电子科技有限公司", OrganisationType.ENTERPRISE, "常州"),
    ("宁波海港物流集团", OrganisationType.ENTERPRISE, "宁波"),
    ("重庆工程职业技术学院", OrganisationType.TVET, "重庆"),
    ("天津机电职业技术学院", OrganisationType.TVET, "天津"),
    ("Guangzhou Industry Polytechnic", OrganisationType.TVET, "Guangzhou"),
    ("人力资源和社会保障部职业能力建设司", OrganisationType.GOVERNMENT, "北京"),
    ("重庆市人力资源和社会保障局", OrganisationType.GOVERNMENT, "重庆"),
    ("中国企业联合会", OrganisationType.EMPLOYERS, "北京"),
    ("中华全国总工会", OrganisationType.WORKERS, "北京"),
    ("Institute for Vocational Education Research", OrganisationType.RESEARCH, "Beijing"),
]

CHINESE_NAMES = [
    "张伟",
    "王芳",
    "李娜",
    "刘洋",
    "陈静",
    "杨磊",
    "赵敏",
    "黄勇",
    "周婷",
    "吴强",
    "徐丽",
    "孙浩",
    "胡军",
    "朱燕",
    "高峰",
    "林晓",
    "何平",
    "郭佳",
    "马超",
    "罗雪",
    "梁晨",
    "宋涛",
    "郑霞",
    "谢斌",
]
LATIN_NAMES = [
    "Maria Fernandes",
    "John Okafor",
    "Anna Schmidt",
    "Priya Natarajan",
    "Tom Becker",
    "Sara Lindqvist",
]
JOB_TITLES = [
    "HR Manager",
    "人力资源部经理",
    "Training Officer",
    "培训主管",
    "教师",
    "Director",
    "处长",
    "Workshop Supervisor",
]


def _next(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """The next such date after today, so the demo's events are always upcoming."""
    today = date.today()
    year = today.year if (month, day) > (today.month, today.day) else today.year + 1
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def _events(programme: Programme) -> list[Workshop]:
    core_start = _next(1, 25, 9)
    qa_start = _next(3, 31, 9)
    forum_start = _next(6, 16, 9)
    day = timedelta(days=1)
    return [
        Workshop(
            programme=programme,
            format=WorkshopFormat.ONLINE,
            status=WorkshopStatus.PUBLISHED,
            title_en="Core Skill Development Training Workshop",
            title_zh="核心技能开发培训研讨会",
            description_en="An online training for pilot enterprises, TVET institutions and public agencies "
            "on developing core skills in apprenticeship programmes.",
            description_zh="面向试点企业、职业院校和公共机构的线上培训，主题为学徒制项目中的核心技能开发。",
            city="",
            venue="",
            meeting_url="https://meeting.tencent.com/dm/demo-core-skills",
            starts_at=core_start,
            ends_at=core_start.replace(hour=17),
            registration_closes_at=core_start - timedelta(hours=12),
            onsite_capacity=0,
            online_capacity=150,
            training_hours=Decimal("6.0"),
            sessions=[
                Session(
                    title_en="Training day",
                    title_zh="培训日",
                    starts_at=core_start,
                    ends_at=core_start.replace(hour=17),
                    room="Tencent Meeting",
                )
            ],
        ),
        Workshop(
            programme=programme,
            format=WorkshopFormat.HYBRID,
            status=WorkshopStatus.PUBLISHED,
            title_en="Capacity Building Workshops on Quality Apprenticeship",
            title_zh="高质量学徒制能力建设研讨会",
            description_en="Two days for the ministry, the employers' confederation, the four pilot cities, "
            "a state enterprise, pilot units and experts — onsite in Chongqing and online.",
            description_zh="为期两天，面向人社部、企业联合会、四个试点城市、国有企业、试点单位和专家，重庆现场与线上同步进行。",
            city="重庆",
            venue="重庆工程职业技术学院 国际交流中心",
            meeting_url="https://meeting.tencent.com/dm/demo-qa",
            starts_at=qa_start,
            ends_at=(qa_start + day).replace(hour=17),
            registration_closes_at=qa_start - timedelta(days=2),
            approval_required=True,
            # Closed nominations, approved by a coordinator: no email link needed to hold a place.
            confirm_contact=False,
            onsite_capacity=40,
            online_capacity=200,
            training_hours=Decimal("12.0"),
            sessions=[
                Session(
                    title_en="Day 1: Quality apprenticeship frameworks",
                    title_zh="第一天：高质量学徒制框架",
                    starts_at=qa_start,
                    ends_at=qa_start.replace(hour=17),
                    room="报告厅 A",
                ),
                Session(
                    title_en="Day 2: Pilot city experiences",
                    title_zh="第二天：试点城市经验交流",
                    starts_at=qa_start + day,
                    ends_at=(qa_start + day).replace(hour=17),
                    room="报告厅 A",
                ),
            ],
        ),
        Workshop(
            programme=programme,
            format=WorkshopFormat.ONSITE,
            status=WorkshopStatus.PUBLISHED,
            title_en="Expert Forum on Skills Development (Phase 2 launch)",
            title_zh="技能发展专家论坛（二期启动）",
            description_en="The launch of phase 2 with the ministry, social partners, embassies, eight pilot "
            "cities and two sectors, followed by a study tour of a pilot enterprise.",
            description_zh="二期项目启动论坛，人社部、社会伙伴、各国使馆、八个试点城市和两个行业参加，次日考察试点企业。",
            city="重庆",
            venue="重庆国际博览中心 3 号会议厅",
            meeting_url="",
            starts_at=forum_start,
            ends_at=(forum_start + day).replace(hour=16),
            registration_closes_at=forum_start - timedelta(days=3),
            onsite_capacity=220,
            online_capacity=0,
            training_hours=Decimal("10.0"),
            sessions=[
                Session(
                    title_en="Day 1: Forum",
                    title_zh="第一天：论坛",
                    starts_at=forum_start,
                    ends_at=forum_start.replace(hour=17, minute=30),
                    room="3 号会议厅",
                ),
                Session(
                    title_en="Day 2: Study tour",
                    title_zh="第二天：企业考察",
                    starts_at=forum_start + day,
                    ends_at=(forum_start + day).replace(hour=16),
                    room="重庆长江精密机械有限公司",
                ),
            ],
        ),
    ]


def _rehearsal(programme: Programme) -> Workshop:
    """A check-in rehearsal open for a day from now, so the scanner can be tried on the demo at once
    (the real events above are all upcoming: their doors are not open yet)."""
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    end = start + timedelta(hours=25)  # a day from loading
    return Workshop(
        programme=programme,
        format=WorkshopFormat.ONSITE,
        status=WorkshopStatus.PUBLISHED,
        title_en="Check-in rehearsal for volunteers",
        title_zh="志愿者签到演练",
        description_en="Practise scanning tickets at the door before the real event.",
        description_zh="正式活动前，练习在入口扫码签到。",
        city="重庆",
        venue="重庆工程职业技术学院 国际交流中心",
        meeting_url="",
        starts_at=start,
        ends_at=end,
        registration_closes_at=start,
        onsite_capacity=60,
        online_capacity=0,
        training_hours=Decimal("1.0"),
        sessions=[Session(title_en="Rehearsal", title_zh="演练", starts_at=start, ends_at=end, room="大厅")],
    )


def _participants(workshop: Workshop, count: int, rng: random.Random) -> list[Registration]:
    people = []
    for index in range(count):
        organisation, org_type, city = rng.choice(ORGANISATIONS)
        latin = index % 7 == 6
        name = rng.choice(LATIN_NAMES) if latin else rng.choice(CHINESE_NAMES)
        mode = rng.choice(workshop.modes)
        people.append(
            Registration(
                workshop=workshop,
                full_name=name,
                # Every fifth person gave only a phone, as many do.
                email="" if index % 5 == 4 else f"participant{workshop.id or 0}-{index}@example.org",
                mobile=f"+86138{index:02d}{rng.randrange(10**5, 10**6)}",
                organisation=organisation,
                organisation_type=org_type,
                job_title=rng.choice(JOB_TITLES),
                gender=rng.choice([Gender.WOMAN, Gender.MAN, Gender.WOMAN, Gender.MAN, Gender.UNDISCLOSED]),
                city=city,
                mode=AttendanceMode(mode),
                language="en" if latin else "zh",
                status=RegistrationStatus.CONFIRMED,
                source=RegistrationSource.WEB,
                consent_at=utcnow(),
            )
        )
    return people


def load_demo() -> list[tuple[str, str, str]] | None:
    """Fill an empty database; returns the staff logins made, or None if data exists."""
    if db.session.scalar(select(func.count()).select_from(Workshop)):
        return None
    rng = random.Random(2026)
    programme = Programme(code="QA", name_en="Quality Apprenticeship — Phase 2", name_zh="高质量学徒制——二期")
    workshops = _events(programme) + [_rehearsal(programme)]
    db.session.add_all(workshops)
    db.session.flush()
    for workshop, count in zip(workshops, (24, 30, 36, 12), strict=True):
        db.session.add_all(_participants(workshop, count, rng))
    db.session.commit()
    logins = []
    for email, role, name, password in STAFF:
        user = users.create_user(email, role, password, name=name)
        logins.append((email, role.value, password))
        if role == Role.ORGANISER:
            users.assign_organisers(workshops[1], [user], None)
            users.assign_organisers(workshops[3], [user], None)
    return logins


def demo_logins_left() -> list[str]:
    """The demo's staff accounts that still sign in with the passwords printed above."""
    left = []
    for email, _role, _name, password in STAFF:
        # Only the columns needed: this runs before anything else a server does.
        stored = db.session.scalar(
            select(User.password_hash).where(func.lower(User.email) == email, User.active.is_(True))
        )
        if stored is not None and check_password_hash(stored, password):
            left.append(email)
    return left


def refuse_demo_logins(app: Flask) -> None:
    """A production server does not start while a demo account opens with its demo password
    (anyone who read the README could sign in as admin). Called where gunicorn starts a
    worker, not in create_app: ``flask db upgrade`` on an empty database and ``flask users
    disable`` (the way out) must still run."""
    if app.config["APP_ENV"] != "production":
        return
    with app.app_context():
        if not inspect(db.engine).has_table(User.__tablename__):
            return  # nothing migrated yet, so no account either
        left = demo_logins_left()
    if left:
        raise ConfigError(
            "Demo staff accounts still have their demo passwords: "
            + ", ".join(left)
            + ". Disable them (flask users disable EMAIL) before serving with APP_ENV=production."
        )
