"""Shared pieces of the benchmarks: data set-up in SQL, a logged-in HTTP session, timing."""

import http.client
import os
import re
import secrets
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa


def insert_workshop(
    url: str, onsite=100000, online=100000, starts_in=timedelta(days=30), hours=8
) -> tuple[int, int]:
    """A published hybrid workshop with one session; returns (workshop id, session id).

    Without the email link (confirm_contact false): the benchmarks measure the seat decision and
    count confirmed seats, as closed nominations have them; tests/test_holds.py covers the holds."""
    engine = sa.create_engine(url)
    start = datetime.now(UTC) + starts_in
    end = start + timedelta(hours=hours)
    naive = lambda d: d.astimezone(UTC).replace(tzinfo=None)  # noqa: E731  (stored as UTC)
    with engine.begin() as conn:
        workshop_id = conn.execute(
            sa.text(
                "INSERT INTO workshop (title_en, title_zh, description_en,"
                " description_zh, format, status, city, venue,"
                " meeting_url, timezone, starts_at, ends_at, onsite_capacity,"
                " online_capacity, approval_required, confirm_contact,"
                " training_hours, created_at, updated_at) VALUES ('Bench', '压测',"
                " '', '', 'hybrid', 'published',"
                " 'Chongqing', '', '', 'Asia/Shanghai', :s, :e, :on, :ol, false, false,"
                " 8, now(), now()) RETURNING id"
            ),
            {"s": naive(start), "e": naive(end), "on": onsite, "ol": online},
        ).scalar_one()
        session_id = conn.execute(
            sa.text(
                "INSERT INTO session (workshop_id, title_en, title_zh, starts_at, ends_at, room) "
                "VALUES (:w, 'Day 1', '第一天', :s, :e, '') RETURNING id"
            ),
            {"w": workshop_id, "s": naive(start), "e": naive(end)},
        ).scalar_one()
    engine.dispose()
    return workshop_id, session_id


def insert_people(url: str, workshop_id: int, count: int) -> list[str]:
    """Confirmed registrations in bulk; returns their ticket tokens."""
    tokens = [secrets.token_urlsafe(32) for _ in range(count)]
    rows = [
        {
            "w": workshop_id,
            "name": f"参加者{n}",
            "email": f"p{workshop_id}-{n}@example.org",
            "mode": "onsite" if n % 3 else "online",
            "m": secrets.token_urlsafe(32),
            "t": tokens[n],
        }
        for n in range(count)
    ]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO registration (workshop_id, full_name, latin_name, email, mobile, organisation,"
                " organisation_type, job_title, gender, city, mode, needs, language,"
                " status, source, decision_reason,"
                " manage_token, ticket_token, created_at, updated_at) VALUES (:w,"
                " :name, '', :email, '', '重庆工程职业技术学院',"
                " 'tvet', '', 'undisclosed', '重庆', :mode, '', 'zh', 'confirmed',"
                " 'import', '', :m, :t, now(), now())"
            ),
            rows,
        )
    engine.dispose()
    return tokens


def create_staff(
    url: str, email: str, password: str, role: str = "coordinator", organiser_of: tuple[int, ...] = ()
) -> None:
    """A staff account; an organiser is assigned to the workshops ``organiser_of``."""
    from werkzeug.security import generate_password_hash

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        user_id = conn.execute(
            sa.text(
                "INSERT INTO staff_user (email, name, password_hash, role, active, created_at, "
                "session_token) VALUES (:e, 'Bench', :p, :r, true, now(), :t) RETURNING id"
            ),
            {"e": email, "p": generate_password_hash(password), "r": role, "t": secrets.token_urlsafe(32)},
        ).scalar_one()
        for workshop_id in organiser_of:
            conn.execute(
                sa.text("INSERT INTO workshop_organiser (user_id, workshop_id) VALUES (:u, :w)"),
                {"u": user_id, "w": workshop_id},
            )
    engine.dispose()


def login(host: str, port: int, email: str, password: str) -> tuple[str, str]:
    """Sign in through the login form; returns (session cookie, CSRF token)."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = f"email={email}&password={password}&csrf_token={token}"
    connection.request(
        "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 302, response.status
    cookie = response.getheader("Set-Cookie").split(";")[0]
    connection.close()
    return cookie, token


def exchange(
    address: tuple[str, int], method: str, path: str, body: bytes = b"", headers: str = ""
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a fresh connection, read until the server closes it.

    The load generator shares the 2 cores with the server it measures, so it is kept lean:
    http.client parses every response's headers with the email package, which cost about
    0.3 ms of CPU per request here. (gunicorn's sync workers close the connection after each
    response anyway, so there is no keep-alive to lose.) ``headers``: extra header lines,
    each ending in CRLF.
    """
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {address[0]}\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n{headers}\r\n"
    ).encode()
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status_line, _, rest = response.partition(b"\r\n")
    _headers, _, content = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), content


def run_clients(count: int, jobs, send) -> tuple[float, list[float], dict]:
    """Run ``send(job) -> HTTP status`` over ``jobs`` from ``count`` threads.

    Returns the elapsed time, the latencies and the count of each status.
    """
    iterator = iter(jobs)
    lock = threading.Lock()
    latencies, statuses = [], {}

    def client():
        mine = []
        while True:
            with lock:
                job = next(iterator, None)
            if job is None:
                break
            began = time.perf_counter()
            status = send(job)
            mine.append((time.perf_counter() - began, status))
        with lock:
            for latency, status in mine:
                latencies.append(latency)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return time.perf_counter() - began, latencies, statuses


class CpuMeter:
    """CPU time spent over a block by an app server (gunicorn's master and workers), by
    PostgreSQL (every ``postgres`` process: backends and background writers) and by this
    process (the load generator), read from /proc.

    Divided by the requests sent, it says where a request's time on the shared cores goes:
    on 2 cores, N requests/s leave 2000/N ms of CPU per request for all three together.
    """

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    @staticmethod
    def _cpu(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process has ended
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def _server_pids(self) -> set[int]:
        children = Path(f"/proc/{self.server_pid}/task/{self.server_pid}/children").read_text().split()
        return {self.server_pid, *map(int, children)}

    @staticmethod
    def _postgres_pids() -> set[int]:
        pids = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() == "postgres":
                        pids.add(int(entry.name))
                except OSError:
                    continue
        return pids

    def _snapshot(self) -> dict[str, dict[int, float]]:
        return {
            "app": {pid: self._cpu(pid) for pid in self._server_pids()},
            "db": {pid: self._cpu(pid) for pid in self._postgres_pids()},
        }

    def __enter__(self):
        self._before = self._snapshot()
        self._client_before = time.process_time()
        return self

    def __exit__(self, *exc):
        after = self._snapshot()
        # A process that started during the block spent all of its CPU in it.
        self.seconds = {
            part: sum(cpu - self._before[part].get(pid, 0.0) for pid, cpu in after[part].items())
            for part in after
        }
        self.seconds["client"] = time.process_time() - self._client_before
        return False

    def per_request_ms(self, requests: int) -> dict[str, float]:
        return {part: round(seconds / requests * 1000, 2) for part, seconds in self.seconds.items()}


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(int(len(sorted_values) * fraction), len(sorted_values) - 1)]
