"""A 5,000-person nominations list (XLSX, header under title rows, merged 单位 cells) uploaded and
its preview page shown, on PostgreSQL, in a process of its own (as a gunicorn worker would):
the seconds it takes (target 3 s) and the process's peak memory meanwhile (VmHWM, reset just
before the upload), beside what the same process held just before it."""

import io
import json
import os
import subprocess
import sys

import pytest
from openpyxl import Workbook

from tests.bench.conftest import ROOT, drop_database, migrated_database, report
from tests.bench.helpers import create_staff, insert_workshop

PEOPLE = 5000
# Its own database: the shared benchmark database may be dropped by a run of the other benchmarks.
DATABASE = "workshops_bench_import"

UPLOAD = r"""
import json, sys, time
from pathlib import Path
from workshops import create_app
from workshops.extensions import db
from workshops.models import User

def status(field):  # kB in /proc/self/status
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024

app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
client = app.test_client()
with app.app_context():
    session_token = db.session.scalars(db.select(User.session_token)).one()
with client.session_transaction() as session:  # signed in as the login form would (its scrypt hash
    session["_user_id"] = session_token          # alone needs 32 MB, which is not the import's)
    session["_fresh"] = True
assert client.get("/staff/").status_code == 200  # the worker as it waits for uploads
data = open(sys.argv[2], "rb").read()
baseline = status("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # the peak from now on
began = time.perf_counter()
response = client.post(
    f"/staff/workshops/{sys.argv[1]}/import",
    data={"file": (__import__("io").BytesIO(data), "推荐学员名单.xlsx")},
    content_type="multipart/form-data",
)
checked = time.perf_counter()
assert response.status_code == 302, response.get_data(as_text=True)[-500:]
preview_peak = status("VmHWM")
before_page = status("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
page = client.get(response.headers["Location"])
shown = time.perf_counter()
text = page.get_data(as_text=True)
assert page.status_code == 200 and "%d rows are ready to import." % int(sys.argv[3]) in text, text[-2000:]
print(json.dumps({
    "preview_s": checked - began,
    "page_s": shown - checked,
    "page_kb": len(page.data) / 1024,
    "peak_mb": max(preview_peak, status("VmHWM")),
    "preview_peak_mb": preview_peak,
    "before_page_mb": before_page,
    "page_peak_mb": status("VmHWM"),
    "baseline_mb": baseline,
}))
"""


def nominations_xlsx(people: int) -> bytes:
    """An enterprise's list as REAL_FILES describes it: title rows, the form's details, a blank row,
    a bilingual header with 序号, one 单位 merged over each group of five, the total and the signature."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["重庆精工机械有限公司 推荐学员名单"])
    sheet.append(["填报单位（盖章）：重庆精工机械有限公司"])
    sheet.append(["联系人：周敏", None, None, "联系电话：023-6888 1234"])
    sheet.append([])
    sheet.append(
        [
            "序号",
            "姓名 Name",
            "性别",
            "工作单位",
            "职务",
            "手机号码",
            "电子邮箱 Email",
            "所在城市",
            "参会方式",
        ]
    )
    first = sheet.max_row + 1
    for n in range(people):
        sheet.append(
            [
                n + 1,
                f"学员{n:04d}",
                "女" if n % 2 else "男",
                f"重庆第{n // 5}机械厂" if n % 5 == 0 else None,
                "工程师",
                f"+86 138 {n // 10000:04d} {n % 10000:04d}",
                f"trainee{n}@cqjg.example.cn" if n % 4 else "",  # a quarter by phone only
                "重庆",
                "线上" if n % 3 else "线下",
            ]
        )
    for row in range(first, first + people, 5):
        sheet.merge_cells(
            start_row=row, start_column=4, end_row=min(row + 4, first + people - 1), end_column=4
        )
    sheet.append([f"合计：{people}人"])
    sheet.append(["填表人：周敏", None, None, "联系电话：13900001111"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def import_database_url():
    yield migrated_database(DATABASE)
    drop_database(DATABASE)


def test_import_preview_of_5000_people(import_database_url, tmp_path):
    workshop_id, _session = insert_workshop(import_database_url)
    create_staff(import_database_url, "coord@bench.example.org", "bench password 1")
    path = tmp_path / "nominations.xlsx"
    path.write_bytes(nominations_xlsx(PEOPLE))
    env = {**os.environ, "DATABASE_URL": import_database_url, "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    env.pop("APP_ENV", None)
    run = subprocess.run(
        [sys.executable, "-c", UPLOAD, str(workshop_id), str(path), str(PEOPLE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    report("import_preview_5000_s", round(figures["preview_s"] + figures["page_s"], 2), "s")
    report("import_preview_5000_check_s", round(figures["preview_s"], 2), "s")  # the upload, to the job
    report("import_preview_5000_page_s", round(figures["page_s"], 2), "s")  # the preview page
    report("import_preview_5000_page_kb", round(figures["page_kb"]), "KB")
    report("import_peak_mb", round(figures["peak_mb"]), "MB")  # the process's peak during both
    report("import_baseline_mb", round(figures["baseline_mb"]), "MB")  # the same process just before
    report("import_own_mb", round(figures["peak_mb"] - figures["baseline_mb"]), "MB")
    assert figures["preview_s"] + figures["page_s"] <= 3.0
    # The app's own process holds about 145 MB before any upload (weasyprint's libraries, every
    # blueprint): the import's share is what this file bounds.
    assert figures["peak_mb"] - figures["baseline_mb"] <= 50
