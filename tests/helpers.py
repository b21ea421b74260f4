"""Small helpers shared by tests."""

from __future__ import annotations

from workshops.services.registration import Applicant


def applicant(n: int = 0, **overrides) -> Applicant:
    values = dict(
        full_name=f"参加者{n}",
        email=f"person{n}@example.org",
        mode="onsite",
        mobile=f"+86 138 {n // 10000:04d} {n % 10000:04d}",  # one phone a person
        organisation="重庆工程职业技术学院",
        organisation_type="tvet",
        gender="woman",
        city="重庆",
        language="zh",
        consent=True,
    )
    values.update(overrides)
    return Applicant(**values)


def form_data(n: int = 0, **overrides) -> dict:
    data = dict(
        full_name=f"Person {n}",
        email=f"person{n}@example.org",
        mode="onsite",
        mobile=f"+86 138 {n // 10000:04d} {n % 10000:04d}",  # one phone a person
        organisation="Chongqing Yuxin Auto Parts",
        organisation_type="enterprise",
        gender="man",
        city="Chongqing",
        language="en",
        consent="y",
        job_title="HR Manager",
    )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class QueryCounter:
    """Counts the SQL statements the app sends while the ``with`` block runs."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, _conn, _cursor, statement, *_args):
        self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def count(self) -> int:
        return len(self.statements)


def confirmation_link(mailbox, address: str) -> str:
    """The path of the confirmation link in the last email the real SMTP server got for this address."""
    import re

    [*_, message] = [m for m in mailbox.to(address) if "/confirm/" in m.get_body(("plain",)).get_content()]
    text = message.get_body(("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/confirm/\S+)", text).group(1)


def follow_confirmation_link(client, mailbox, address: str):
    """What the person does: open the link from the email, then press the page's one button."""
    path = confirmation_link(mailbox, address)
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path)
