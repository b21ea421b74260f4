"""Meeting platforms' attendance exports, built in the shapes of /work/shared/REAL_FILES.md
(with invented people): Zoom participants in its three header styles, the Zoom webinar
Attendee Report, Tencent Meeting's workbook and the GBK CSV of its first sheet, Feishu.

Times are given as aware datetimes and written the way each platform writes them.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


def us_12h(moment: datetime) -> str:
    """Zoom, an account in the United States' locale: ``11/15/2025 01:45:02 PM``."""
    return _local(moment).strftime("%m/%d/%Y %I:%M:%S %p")


def us_12h_short(moment: datetime) -> str:
    """Zoom, legacy: ``11/19/2021 9:54:15 AM`` (no leading zero on the hour)."""
    local = _local(moment)
    return f"{local:%m/%d/%Y} {local.hour % 12 or 12}:{local:%M:%S} {local:%p}"


def day_first_24h(moment: datetime) -> str:
    """Zoom, a day-first locale: ``01/06/2023 00:00``."""
    return _local(moment).strftime("%d/%m/%Y %H:%M")


def named_month(moment: datetime, seconds: bool = True) -> str:
    """Zoom webinars: ``Nov 22, 2025 18:58:10`` in rows, ``Nov 22, 2025 6:55 PM`` in the summary."""
    local = _local(moment)
    if seconds:
        return f"{local:%b} {local.day}, {local.year} {local:%H:%M:%S}"
    return f"{local:%b} {local.day}, {local.year} {local.hour % 12 or 12}:{local:%M} {local:%p}"


def tencent_time(moment: datetime) -> str:
    return _local(moment).strftime("%Y-%m-%d %H:%M:%S")


def feishu_time(moment: datetime) -> str:
    return _local(moment).strftime("%Y.%m.%d %H:%M:%S") + " (GMT+08:00)"


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def h_mm_ss(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _csv(rows: list[list], line_end: str = "\r\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end).writerows(rows)
    return out.getvalue()


def _padded(rows: list[list]) -> list[list]:
    width = max(len(row) for row in rows)
    return [list(row) + [""] * (width - len(row)) for row in rows]


# ---- Zoom meeting participants ------------------------------------------------------------

CURRENT_HEADER = [
    "Name (original name)",
    "Email",
    "Join time",
    "Leave time",
    "Duration (minutes)",
    "Guest",
    "Recording disclaimer response",
    "In waiting room",
]
LEGACY_HEADER = [
    "Name (Original Name)",
    "User Email",
    "Join Time",
    "Leave Time",
    "Duration (Minutes)",
    "Guest",
    "Recording Consent",
]
UNIQUE_HEADER = ["Name (original name)", "Email", "Total duration (minutes)", "Guest"]


def zoom_current(
    rows: list[tuple],
    start: datetime,
    end: datetime,
    host: str = "李明",
    topic: str = "Quality Apprenticeship",
    fmt=us_12h,
    preamble: bool = True,
    line_end: str = "\r\n",
) -> bytes:
    """``rows``: (name, email, join, leave, minutes, waiting) with aware join and leave times."""
    out: list[list] = []
    if preamble:
        out += [
            ["Topic", "ID", "Host", "Duration (minutes)", "Start time", "End time", "Participants"],
            [
                topic,
                "812 3456 7890",
                host,
                int((end - start).total_seconds() // 60),
                fmt(start),
                fmt(end),
                len(rows),
            ],
            [""] * 7,  # the all-commas line
        ]
    out.append(CURRENT_HEADER)
    for name, email, joined, left, minutes, waiting in rows:
        out.append(
            [name, email, fmt(joined), fmt(left), minutes, "Yes" if not email else "No", "OK", waiting]
        )
    return ("\ufeff" + _csv(out, line_end)).encode("utf-8")


def zoom_legacy(
    rows: list[tuple],
    start: datetime,
    end: datetime,
    host_email: str = "host@example.org",
    preamble: bool = True,
) -> bytes:
    """``rows``: (name, email, join, leave, minutes)."""
    out: list[list] = []
    if preamble:
        out += [
            [
                "Meeting ID",
                "Topic",
                "Start Time",
                "End Time",
                "User Email",
                "Duration (Minutes)",
                "Participants",
            ],
            [
                "812 3456 7890",
                "Quality Apprenticeship",
                us_12h_short(start),
                us_12h_short(end),
                host_email,
                int((end - start).total_seconds() // 60),
                len(rows),
            ],
            [],
        ]
    out.append(LEGACY_HEADER)
    for name, email, joined, left, minutes in rows:
        out.append([name, email, us_12h_short(joined), us_12h_short(left), minutes, "No", "Yes"])
    return ("\ufeff" + _csv(out, "\n")).encode("utf-8")


def zoom_unique(rows: list[tuple], start: datetime, end: datetime, host: str = "李明") -> bytes:
    """ "Show unique users": ``rows``: (name, email, total minutes); no times."""
    out: list[list] = [
        ["Topic", "ID", "Host", "Duration (minutes)", "Start time", "End time", "Participants"],
        ["Quality Apprenticeship", "812 3456 7890", host, 480, us_12h(start), us_12h(end), len(rows)],
        [],
        UNIQUE_HEADER,
    ]
    out += [[name, email, minutes, "Yes" if not email else "No"] for name, email, minutes in rows]
    return ("\ufeff" + _csv(out)).encode("utf-8")


# ---- Zoom webinar Attendee Report ---------------------------------------------------------

WEBINAR_ATTENDEE_HEADER = [
    "Attended",
    "User Name (Original Name)",
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Registration Time",
    "Approval Status",
    "Join Time",
    "Leave Time",
    "Time in Session (minutes)",
    "Is Guest",
    "Organisation",  # a custom registration question
    "Country/Region Name",
]
WEBINAR_SHORT_HEADER = [
    "Attended",
    "User Name (Original Name)",
    "Email",
    "Join Time",
    "Leave Time",
    "Time in Session (minutes)",
    "Is Guest",
    "Country/Region Name",
]


def zoom_webinar(
    attendees: list[tuple],
    hosts: list[tuple],
    panelists: list[tuple],
    start: datetime,
    registered_at: datetime,
) -> bytes:
    """``attendees``: (attended, user name, first, last, email, phone, join, leave, minutes, organisation)
    with join/leave None for a registrant who never came; ``hosts``/``panelists``: (name, email, join,
    leave, minutes)."""
    rows: list[list] = [
        ["Attendee Report"],
        ["Report Generated:", named_month(start, seconds=False)],
        [
            "Topic",
            "Webinar ID",
            "Actual Start Time",
            "Actual Duration (minutes)",
            "# Registered",
            "# Cancelled",
            "Unique Viewers",
            "Total Users",
            "Max Concurrent Views",
        ],
        [
            "Quality Apprenticeship",
            "812 3456 7890",
            named_month(start, seconds=False),
            480,
            len(attendees),
            0,
            3,
            5,
            3,
        ],
        [],
        ["Host Details"],
        WEBINAR_SHORT_HEADER,
    ]
    for name, email, joined, left, minutes in hosts:
        rows.append(["Yes", name, email, named_month(joined), named_month(left), minutes, "No", "China"])
    rows += [[], ["Panelist Details"], WEBINAR_SHORT_HEADER]
    for name, email, joined, left, minutes in panelists:
        rows.append(["Yes", name, email, named_month(joined), named_month(left), minutes, "No", "China"])
    rows += [[], ["Attendee Details"], WEBINAR_ATTENDEE_HEADER]
    for attended, user, first, last, email, phone, joined, left, minutes, organisation in attendees:
        rows.append(
            [
                attended,
                user,
                first,
                last,
                email,
                phone,
                named_month(registered_at),
                "approved",
                named_month(joined) if joined else "--",
                named_month(left) if left else "--",
                minutes if joined else "--",
                "Yes",
                organisation,
                "China",
            ]
        )
    return ("\ufeff" + _csv(_padded(rows))).encode("utf-8")


# ---- Tencent Meeting ----------------------------------------------------------------------

TENCENT_OVERVIEW = "成员参会概况"
TENCENT_DETAIL = "成员参会明细"
OVERVIEW_HEADER = ["用户昵称（入会昵称）", "首次入会时间", "最后退会时间", "入会次数", "累计参会时长", "身份"]
DETAIL_HEADER = ["用户昵称（入会昵称）", "入会时间", "退会时间", "参会时长", "入会终端", "网络类型"]


def tencent_preamble(start: datetime, end: datetime, people: int) -> list[list[str]]:
    """Rows 1-8: label in column A, value in B, then an empty row; the header is row 9."""
    return [
        ["会议主题:", "高质量学徒制能力建设研讨会"],
        ["会议号:", "123 456 789"],
        ["会议创建者:", "某某"],
        ["预定开始时间:", tencent_time(start)],
        ["预定结束时间:", tencent_time(end)],
        ["累计会议时长:", h_mm_ss(int((end - start).total_seconds()))],
        ["参会用户总数:", str(people)],
        [],
    ]


def tencent_overview_rows(overview: list[tuple]) -> list[list[str]]:
    """``overview``: (name cell, first join, last leave or None for "--", joins, seconds, 身份)."""
    return [
        [name, tencent_time(first), tencent_time(last) if last else "--", str(joins), h_mm_ss(seconds), role]
        for name, first, last, joins, seconds, role in overview
    ]


def tencent_xlsx(
    overview: list[tuple], detail: list[tuple], start: datetime, end: datetime, header_row: int = 9
) -> bytes:
    """The workbook: ``detail``: (name cell, join, leave or None for "--", seconds). Every cell is
    text. ``header_row`` 1: an older export without the preamble."""
    book = Workbook()
    first = book.active
    first.title = TENCENT_OVERVIEW
    second = book.create_sheet(TENCENT_DETAIL)
    preamble = tencent_preamble(start, end, len(overview)) if header_row == 9 else []
    for row in [*preamble, OVERVIEW_HEADER, *tencent_overview_rows(overview)]:
        first.append(row)
    detail_rows = [
        [name, tencent_time(joined), tencent_time(left) if left else "--", h_mm_ss(seconds), "PC", "WiFi"]
        for name, joined, left, seconds in detail
    ]
    for row in [*preamble, DETAIL_HEADER, *detail_rows]:
        second.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def tencent_gbk_csv(overview: list[tuple], start: datetime, end: datetime) -> bytes:
    """The first sheet after Excel's 另存为 CSV（逗号分隔） on Chinese Windows: GBK without BOM, CRLF,
    every row padded to the widest, characters outside GBK (emoji) written as ``?``."""
    rows = _padded(
        [*tencent_preamble(start, end, len(overview)), OVERVIEW_HEADER, *tencent_overview_rows(overview)]
    )
    return _csv(rows, "\r\n").encode("gbk", errors="replace")


# ---- Feishu -------------------------------------------------------------------------------

FEISHU_HEADER = [
    "参会人",
    "部门",
    "用户ID",
    "工号",
    "电话",
    "邮箱",
    "设备",
    "客户端版本",
    "公网IP",
    "内网IP",
    "代理服务",
    "位置",
    "网络类型",
    "麦克风",
    "扬声器",
    "摄像头",
    "音频",
    "视频",
    "共享",
    "入会时间",
    "离会时间",
    "参会时长",
    "离会原因",
]


def feishu_xlsx(rows: list[tuple]) -> bytes:
    """``rows``: (参会人, 部门, 用户ID, 工号, masked phone, email, join, leave, seconds, reason); one per
    participant, the duration cumulative."""
    book = Workbook()
    sheet = book.active
    sheet.append(FEISHU_HEADER)
    for name, department, user_id, number, phone, email, joined, left, seconds, reason in rows:
        sheet.append(
            [
                name,
                department,
                user_id,
                number,
                phone,
                email,
                "Windows",
                "7.9.7",
                "203.0.113.7",
                "10.0.0.8",
                "否",
                "中国 重庆",
                "WiFi",
                "开启",
                "开启",
                "关闭",
                "开启",
                "关闭",
                "否",
                feishu_time(joined),
                feishu_time(left),
                hms(seconds),
                reason,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
