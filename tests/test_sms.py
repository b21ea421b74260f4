"""Text messages: a second channel of the outbox, sent through Alibaba Cloud SMS (or a log file).

The provider is a local HTTP server that checks every request's signature the way Alibaba
Cloud's RPC signature method describes (its own implementation, not the app's) and answers
as dysmsapi's SendSms does: OK, throttled, an invalid number, an outage.
"""

from __future__ import annotations

import base64
import hmac
import json
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote_plus

import pytest
from flask import current_app

from tests.helpers import applicant
from workshops.config import SMS_TEMPLATE_KINDS, ConfigError, load_config
from workshops.models import (
    AttendanceMode,
    Channel,
    EmailKind,
    OutboxMessage,
    OutboxStatus,
    Registration,
    RegistrationStatus,
    Role,
)
from workshops.models.base import utcnow
from workshops.services import announcements, outbox, privacy, sms
from workshops.services import registration as registrations
from workshops.services.errors import InvalidInput

# What these tests check (a provider's protocol over HTTP) does not depend on the database.
pytestmark = pytest.mark.one_database

KEY_ID, SECRET, SIGN = "LTAI-test-key", "test-secret-value", "能力建设研讨会"
TEMPLATES = {
    "confirmation": {"zh": "SMS_100001", "en": "SMS_100002"},
    "promoted": {"zh": "SMS_100003", "en": ""},
    "survey_invitation": {"zh": "SMS_100005", "en": "SMS_100006"},
    "survey_reminder": {"zh": "SMS_100007", "en": "SMS_100008"},
    "certificate_ready": {"zh": "SMS_100009", "en": "SMS_100010"},
}
PHONE = "+8613800000001"

LONG_ZH = "中国西部地区中小企业高质量学徒制与职业技能培训能力建设国际研讨会暨校企合作经验交流会（第二期）"
LONG_EN = (
    "Capacity Building Workshop on Quality Apprenticeships, Work-based Learning and Skills Recognition "
    "for Small and Medium-sized Enterprises in the Western Provinces"
)


# --- The provider, as Alibaba Cloud documents it --------------------------------------------

UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def rfc3986(text: str) -> str:
    return "".join(c if c in UNRESERVED else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def provider_signature(method: str, params: dict[str, str], secret: str) -> str:
    """What the provider computes: written from the documentation, apart from the app's code."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(rfc3986(k) + "=" + rfc3986(v) for k, v in pairs)
    string_to_sign = method + "&" + rfc3986("/") + "&" + rfc3986(canonical)
    return base64.b64encode(
        hmac.new((secret + "&").encode(), string_to_sign.encode(), "sha1").digest()
    ).decode()


class Dysmsapi(ThreadingHTTPServer):
    """dysmsapi.aliyuncs.com on 127.0.0.1: SendSms only."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: list[str] = []  # what the next requests get: "ok", "throttled", "error500"
        self.illegal_numbers: set[str] = set()
        self.requests: list[dict[str, str]] = []  # every SendSms the server was asked for
        self.delivered: list[dict[str, str]] = []  # those it accepted (Code OK)
        self.nonces: set[str] = set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/"


REQUIRED = {
    "AccessKeyId",
    "Action",
    "Format",
    "PhoneNumbers",
    "RegionId",
    "SignName",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "TemplateCode",
    "Timestamp",
    "Version",
}


class _Handler(BaseHTTPRequestHandler):
    server: Dysmsapi

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps({"RequestId": str(uuid.uuid4()).upper(), **body}, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        params = dict(
            parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True, strict_parsing=True)
        )
        server = self.server
        with server.lock:
            server.requests.append(params)
            missing = REQUIRED - params.keys()
            if missing:
                return self.answer(400, {"Code": "MissingParameter", "Message": f"missing {sorted(missing)}"})
            if params["AccessKeyId"] != KEY_ID:
                return self.answer(
                    404,
                    {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."},
                )
            if (params["SignatureMethod"], params["SignatureVersion"]) != ("HMAC-SHA1", "1.0"):
                return self.answer(400, {"Code": "InvalidSignatureMethod", "Message": "HMAC-SHA1 1.0 only"})
            if not hmac.compare_digest(params["Signature"], provider_signature("POST", params, SECRET)):
                return self.answer(
                    400,
                    {
                        "Code": "SignatureDoesNotMatch",
                        "Message": "Specified signature is not matched with our calculation.",
                    },
                )
            stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if abs(datetime.now(UTC) - stamp) > timedelta(minutes=15):
                return self.answer(
                    400,
                    {
                        "Code": "InvalidTimeStamp.Expired",
                        "Message": "Specified time stamp or date value is expired.",
                    },
                )
            if params["SignatureNonce"] in server.nonces:
                return self.answer(
                    400,
                    {"Code": "SignatureNonceUsed", "Message": "Specified signature nonce was used already."},
                )
            server.nonces.add(params["SignatureNonce"])
            if (params["Action"], params["Version"]) != ("SendSms", "2017-05-25"):
                return self.answer(
                    400, {"Code": "InvalidAction.NotFound", "Message": "Specified api is not found."}
                )
            template_param = json.loads(params.get("TemplateParam") or "{}")
            assert all(isinstance(v, str) for v in template_param.values())  # strings only, as documented
            answer = server.answers.pop(0) if server.answers else "ok"
            if answer == "error500":
                return self.answer(
                    500,
                    {
                        "Code": "InternalError",
                        "Message": "The request processing has failed due to some unknown error.",
                    },
                )
            if answer == "throttled":
                return self.answer(
                    200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"}
                )
            if params["PhoneNumbers"] in server.illegal_numbers:
                return self.answer(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
            server.delivered.append(params)
            return self.answer(200, {"Code": "OK", "Message": "OK", "BizId": f"{len(server.delivered)}^0"})


@pytest.fixture
def dysmsapi():
    server = Dysmsapi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens there once the socket is closed


@pytest.fixture
def aliyun(app, dysmsapi):
    app.config.update(
        SMS_PROVIDER="aliyun",
        SMS_ENDPOINT=dysmsapi.url,
        SMS_ACCESS_KEY_ID=KEY_ID,
        SMS_ACCESS_KEY_SECRET=SECRET,
        SMS_SIGN_NAME=SIGN,
        SMS_REGION="cn-hangzhou",
        SMS_TEMPLATES=TEMPLATES,
    )
    return dysmsapi


@pytest.fixture
def sms_log(app, tmp_path):
    app.config.update(
        SMS_PROVIDER="log", SMS_LOG_FILE=str(tmp_path / "instance" / "sms.log"), SMS_SIGN_NAME=""
    )
    return tmp_path / "instance" / "sms.log"


def register_phone_only(db, workshop, mobile=PHONE, language="zh", n=1) -> Registration:
    """Someone who gave a mobile and no email, registered through the services. Their text
    waits in the outbox: the kick goes to a broker nobody reads, and the test delivers it."""
    celery_app = current_app.extensions["celery"]
    celery_app.conf.task_always_eager = False
    try:
        return registrations.register(
            workshop.id, applicant(n, email="", mobile=mobile, language=language)
        ).registration
    finally:
        celery_app.conf.task_always_eager = True


def rows(db, **where) -> list[OutboxMessage]:
    return list(db.session.scalars(db.select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)))


def make_due(db) -> None:
    db.session.execute(db.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()


# --- Who gets what ----------------------------------------------------------------------------


def test_someone_with_a_mobile_and_no_email_gets_a_text_and_no_email(app, db, make_workshop, aliyun):
    registration = register_phone_only(db, make_workshop())
    [message] = rows(db)
    assert (message.channel, message.kind, message.recipient) == (Channel.SMS, "confirmation", PHONE)
    assert message.registration_id == registration.id
    assert rows(db, channel=Channel.EMAIL) == []  # no placeholder address, no email row

    assert outbox.deliver_due() == {"sent": 1, "failed": 0}
    [sent] = aliyun.delivered
    assert sent["PhoneNumbers"] == "13800000001" and sent["SignName"] == SIGN
    assert sent["TemplateCode"] == "SMS_100001"  # the Chinese template: the person's language
    assert json.loads(sent["TemplateParam"]) == {
        "title": "高质量学徒制能力建设研讨会",
        "token": registration.manage_token,
    }
    assert sent["OutId"] == f"outbox-{message.id}"
    assert message.status == OutboxStatus.SENT and message.sent_at is not None
    assert message.body_text == (
        f"您的“高质量学徒制能力建设研讨会”报名已确认。电子票：http://workshops.test/r/{registration.manage_token}"
    )


def test_someone_with_both_gets_an_email_and_a_text(app, db, make_workshop, aliyun, mailbox):
    mailbox.start()
    workshop = make_workshop()
    registration = registrations.register(workshop.id, applicant(2, language="en")).registration
    email, text = rows(db)  # both delivered by the kick after the registration (eager in tests)
    assert (email.channel, email.recipient, email.attachments) == (
        Channel.EMAIL,
        "person2@example.org",
        ["ticket_qr", "calendar"],
    )
    assert (text.channel, text.recipient, text.attachments) == (Channel.SMS, "+8613800000002", [])
    assert email.status == text.status == OutboxStatus.SENT
    assert len(mailbox.to("person2@example.org")) == 1
    [sent] = aliyun.delivered
    assert sent["TemplateCode"] == "SMS_100002"  # English, as the person chose
    # English to a mainland number counts 70/67 like Chinese: the title gives way, never the link.
    assert (
        text.body_text.startswith("Confirmed: Capacity Building Workshop") and "…. Ticket: " in text.body_text
    )
    assert text.body_text.endswith(f"/r/{registration.manage_token}")
    # The email's fixed Message-ID is untouched by the second channel.
    assert mailbox.to("person2@example.org")[0]["Message-ID"] == f"<outbox-{email.id}@workshops.test>"
    assert outbox.deliver_due() == {"sent": 0, "failed": 0}


def test_only_the_kinds_with_a_text_get_one(app, db, make_workshop, aliyun):
    workshop = make_workshop(onsite_capacity=1)
    registrations.register(workshop.id, applicant(1))
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()
    waiting = registrations.register(workshop.id, applicant(2)).registration
    assert waiting.status == RegistrationStatus.WAITLISTED
    assert [(m.channel, m.kind) for m in rows(db)] == [(Channel.EMAIL, "waitlisted")]  # no text for that
    first = db.session.scalars(db.select(Registration).filter_by(email="person1@example.org")).one()
    registrations.cancel(first)
    promoted = [(m.channel, m.recipient) for m in rows(db, kind="promoted")]
    assert promoted == [(Channel.EMAIL, "person2@example.org"), (Channel.SMS, "+8613800000002")]
    assert rows(db, kind="cancelled", channel=Channel.SMS) == []


def test_an_english_speaker_gets_the_chinese_template_when_there_is_no_english_one(
    app, db, make_workshop, aliyun
):
    text = sms.compose(EmailKind.PROMOTED, register_phone_only(db, make_workshop(), language="en"), PHONE)
    assert (text.template, text.language) == ("SMS_100003", "zh")
    assert text.body.startswith("有名额空出")


def test_no_text_when_sms_is_off_or_the_kind_has_no_template(app, db, make_workshop, aliyun):
    app.config["SMS_PROVIDER"] = ""
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(1))
    assert [m.channel for m in rows(db)] == [Channel.EMAIL]
    app.config.update(
        SMS_PROVIDER="aliyun", SMS_TEMPLATES={**TEMPLATES, "confirmation": {"zh": "", "en": ""}}
    )
    registrations.register(workshop.id, applicant(2))
    assert [m.channel for m in rows(db)] == [Channel.EMAIL, Channel.EMAIL]
    assert sms.sends(EmailKind.PROMOTED) and not sms.sends(EmailKind.CONFIRMATION)
    assert not sms.sends(EmailKind.WAITLISTED)


def test_a_mobile_that_is_no_mobile_gets_no_text(app, db, make_workshop, aliyun):
    workshop = make_workshop()
    with pytest.raises(InvalidInput):  # registering refuses a Chongqing landline as the mobile
        registrations.register(workshop.id, applicant(1, mobile="023 6543 2100"))
    # One stored before mobiles were checked gets its email and no text.
    registration = Registration(
        workshop_id=workshop.id,
        full_name="参加者1",
        email="person1@example.org",
        mobile="023 6543 2100",
        mode=AttendanceMode.ONSITE,
        status=RegistrationStatus.CONFIRMED,
    )
    db.session.add(registration)
    outbox.queue_status_email(registration)
    db.session.commit()
    assert [m.channel for m in rows(db)] == [Channel.EMAIL]


def test_announcements_are_emailed_only_to_those_with_an_address(app, db, make_workshop, make_user, aliyun):
    workshop = make_workshop()
    register_phone_only(db, workshop)
    registrations.register(workshop.id, applicant(2))
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()
    message = announcements.Announcement(audience="confirmed", subject_en="Venue", body_en="Room 3 now.")
    job = announcements.queue_announcement(workshop, message, make_user(Role.COORDINATOR))
    assert job.total == 1
    assert [m.recipient for m in rows(db, kind="announcement")] == ["person2@example.org"]


# --- Segments ---------------------------------------------------------------------------------


def test_segments_follow_gsm7_and_ucs2_and_the_mainland_rule():
    assert sms.segments("a" * 160) == 1 and sms.segments("a" * 161) == 2
    assert sms.segments("a" * 306) == 2 and sms.segments("a" * 307) == 3
    assert sms.segments("€" * 80) == 1 and sms.segments("€" * 81) == 2  # the extension table: two places each
    assert sms.segments("中" * 70) == 1 and sms.segments("中" * 71) == 2
    assert sms.segments("中" * 134) == 2 and sms.segments("中" * 135) == 3
    assert sms.segments("a" * 69 + "…") == 1 and sms.segments("a" * 70 + "…") == 2  # … is not GSM-7
    # Mainland carriers count every character as one, 70 in one text and 67 in each part.
    assert sms.segments("a" * 70, "+8613800000001") == 1 and sms.segments("a" * 71, "+8613800000001") == 2
    assert sms.segments("a" * 134, "+8613800000001") == 2 and sms.segments("a" * 160, "+447700900123") == 1


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("number", [PHONE, "+447700900123"])
def test_every_text_fits_two_segments_with_a_long_title(app, db, make_workshop, sms_log, language, number):
    app.config.update(BASE_URL="https://training.example.org.cn", SMS_SIGN_NAME=SIGN)
    workshop = make_workshop(title_zh=LONG_ZH, title_en=LONG_EN)
    registration = register_phone_only(db, workshop, mobile=number, language=language)
    title = LONG_ZH if language == "zh" else LONG_EN
    for kind in sms.SMS_KINDS:
        text = sms.compose(kind, registration, number)
        signed = sms.signed(text.body)
        assert sms.segments(signed, number) <= sms.MAX_SEGMENTS, (kind, len(signed), signed)
        assert len(signed) > 100  # the room is used, not thrown away
        assert text.params["token"] in text.body and "https://training.example.org.cn/" in text.body
        shown = text.params["title"]
        assert shown.endswith("…") and title.startswith(shown[:-1]) and shown in text.body
    # A short title is kept whole.
    person = register_phone_only(db, make_workshop(), mobile=number, language="zh", n=2)
    assert sms.compose(EmailKind.CONFIRMATION, person, number).params["title"] == "高质量学徒制能力建设研讨会"


# --- The Alibaba Cloud signature --------------------------------------------------------------


def test_the_signature_matches_alibaba_clouds_documented_example():
    """The worked example of Alibaba Cloud's RPC signature documentation (DescribeRegions,
    AccessKey secret "testsecret"): both the app's signing and the test provider's give its value."""
    params = {
        "TimeStamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert sms.rpc_signature("GET", params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="
    assert provider_signature("GET", params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="
    assert sms.percent_encode("a b*c~é") == "a%20b%2Ac~%C3%A9"


def test_a_wrong_signature_is_refused_and_the_text_waits(app, db, make_workshop, aliyun, monkeypatch):
    register_phone_only(db, make_workshop(), language="en")  # an English title: spaces to encode
    signing = sms.rpc_signature
    monkeypatch.setattr(
        sms, "rpc_signature", lambda method, params, secret: signing(method, params, secret + "x")
    )
    assert outbox.deliver_due() == {"sent": 0, "failed": 1}
    [message] = rows(db)
    assert message.status == OutboxStatus.PENDING and "SignatureDoesNotMatch" in message.last_error
    assert len(aliyun.requests) == 1 and aliyun.delivered == []
    # An encoding bug is caught too: form encoding (a space as +) where RFC 3986 wants %20.
    monkeypatch.undo()
    monkeypatch.setattr(sms, "percent_encode", lambda value: quote_plus(value, safe="-_.~"))
    make_due(db)
    assert outbox.deliver_due() == {"sent": 0, "failed": 1} and aliyun.delivered == []
    assert "SignatureDoesNotMatch" in message.last_error
    monkeypatch.undo()
    make_due(db)
    assert outbox.deliver_due() == {"sent": 1, "failed": 0} and len(aliyun.delivered) == 1
    assert " " in json.loads(aliyun.delivered[0]["TemplateParam"])["title"]


# --- Retries: throttled, outage; an invalid number fails at once --------------------------------


def test_a_throttled_text_is_retried_with_the_outbox_backoff_and_sent_once(app, db, make_workshop, aliyun):
    register_phone_only(db, make_workshop())
    aliyun.answers = ["throttled"]
    before = utcnow()
    assert outbox.deliver_due() == {"sent": 0, "failed": 1}
    [message] = rows(db)
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    assert "isv.BUSINESS_LIMIT_CONTROL" in message.last_error
    assert message.next_attempt_at >= before + outbox.backoff(1) - timedelta(seconds=1)
    assert outbox.deliver_due() == {"sent": 0, "failed": 0}  # backing off: not due yet
    make_due(db)
    assert outbox.deliver_due() == {"sent": 1, "failed": 0}
    assert outbox.deliver_due() == {"sent": 0, "failed": 0}
    assert len(aliyun.delivered) == 1 and len(aliyun.requests) == 2
    # Both attempts were the same message (OutId) with a fresh nonce each.
    assert {r["OutId"] for r in aliyun.requests} == {f"outbox-{message.id}"}
    assert len({r["SignatureNonce"] for r in aliyun.requests}) == 2
    assert message.status == OutboxStatus.SENT and message.last_error == ""


def test_an_outage_loses_nothing_and_sends_nothing_twice(app, db, make_workshop, aliyun):
    app.config["SMS_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}/"  # connection refused
    workshop = make_workshop()
    first = register_phone_only(db, workshop)
    registrations.register(workshop.id, applicant(2))  # an email and a text; its kick delivers
    [email] = rows(db, channel=Channel.EMAIL)
    texts = rows(db, channel=Channel.SMS)
    assert email.status == OutboxStatus.SENT  # the email went, the texts wait
    assert all(t.status == OutboxStatus.PENDING and "unreachable" in t.last_error for t in texts)
    assert outbox.deliver_due() == {"sent": 0, "failed": 0}  # backing off

    app.config["SMS_ENDPOINT"] = aliyun.url
    aliyun.answers = ["error500"]  # the provider up but failing
    make_due(db)
    assert outbox.deliver_due() == {"sent": 1, "failed": 1}
    assert "HTTP 500 InternalError" in texts[0].last_error and texts[0].attempts == 2
    make_due(db)
    assert outbox.deliver_due() == {"sent": 1, "failed": 0}
    make_due(db)
    assert outbox.deliver_due() == {"sent": 0, "failed": 0}
    assert sorted(d["PhoneNumbers"] for d in aliyun.delivered) == ["13800000001", "13800000002"]
    assert [t.status for t in texts] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert texts[0].registration_id == first.id


def test_an_invalid_number_fails_at_once_with_the_reason(app, db, make_workshop, aliyun):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 12
    register_phone_only(db, make_workshop(), mobile="+8619900000000")
    aliyun.illegal_numbers.add("19900000000")
    assert outbox.deliver_due() == {"sent": 0, "failed": 1}
    [message] = rows(db)
    assert message.status == OutboxStatus.FAILED and message.attempts == 1
    assert "isv.MOBILE_NUMBER_ILLEGAL" in message.last_error and "非法手机号" in message.last_error
    make_due(db)
    assert outbox.deliver_due() == {"sent": 0, "failed": 0}
    assert len(aliyun.requests) == 1  # no pointless retries


# --- Configuration and the embedded default -----------------------------------------------------


def test_configuration_sms_is_off_in_production_and_a_log_file_in_development(monkeypatch, tmp_path):
    for name in ("SMS_PROVIDER", "SMS_LOG_FILE", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(str(tmp_path))
    assert config["SMS_PROVIDER"] == "log" and config["SMS_LOG_FILE"] == str(tmp_path / "sms.log")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    assert load_config(str(tmp_path))["SMS_PROVIDER"] == ""
    monkeypatch.setenv("SMS_PROVIDER", "aliyun")
    with pytest.raises(ConfigError, match="needs SMS_ACCESS_KEY_ID, SMS_ACCESS_KEY_SECRET, SMS_SIGN_NAME"):
        load_config(str(tmp_path))
    for name, value in (
        ("SMS_ACCESS_KEY_ID", KEY_ID),
        ("SMS_ACCESS_KEY_SECRET", SECRET),
        ("SMS_SIGN_NAME", SIGN),
    ):
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="SMS_TEMPLATE_"):
        load_config(str(tmp_path))
    monkeypatch.setenv("SMS_TEMPLATE_CONFIRMATION", "SMS_1")
    monkeypatch.setenv("SMS_TEMPLATE_CONFIRMATION_EN", "SMS_2")
    config = load_config(str(tmp_path))
    assert config["SMS_TEMPLATES"]["confirmation"] == {"zh": "SMS_1", "en": "SMS_2"}
    assert config["SMS_TEMPLATES"]["promoted"] == {"zh": "", "en": ""}
    assert (
        config["SMS_ENDPOINT"] == "https://dysmsapi.aliyuncs.com/" and config["SMS_REGION"] == "cn-hangzhou"
    )
    monkeypatch.setenv("SMS_PROVIDER", "twilio")
    with pytest.raises(ConfigError, match="SMS_PROVIDER"):
        load_config(str(tmp_path))


def test_the_kinds_configured_are_the_kinds_sent():
    assert [kind.lower() for kind in SMS_TEMPLATE_KINDS] == [str(kind) for kind in sms.SMS_KINDS]


def test_the_embedded_default_writes_texts_to_a_log_file(app, db, make_workshop, sms_log):
    registration = register_phone_only(db, make_workshop(), mobile="+8613912345678")
    assert outbox.deliver_due() == {"sent": 1, "failed": 0}
    [message] = rows(db)
    line = sms_log.read_text(encoding="utf-8")
    assert f"outbox-{message.id} to +86139****5678 [confirmation, zh, 2 segment(s)]" in line
    assert (
        f"您的“高质量学徒制能力建设研讨会”报名已确认。电子票：http://workshops.test/r/{registration.manage_token}"
        in line
    )
    assert "13912345678" not in line  # the file holds no one's number
    assert message.status == OutboxStatus.SENT


def test_staff_pages_say_texts_are_written_to_the_log_file(
    app, client, auth, make_user, make_workshop, sms_log
):
    workshop = make_workshop()
    auth.login(make_user(Role.ADMIN))
    app.config["SMS_LOG_FILE"] = str(app.instance_path + "/sms.log")
    english = "Text messages are written to instance/sms.log, not sent."
    chinese = "短信仅写入 instance/sms.log，不会实际发送。"
    for page in ("/staff/", f"/staff/workshops/{workshop.id}/registrations"):
        assert english in client.get(page).get_data(as_text=True)
        assert chinese in client.get(page, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    app.config["SMS_PROVIDER"] = "aliyun"
    assert "Text messages are written" not in client.get("/staff/").get_data(as_text=True)


# --- Privacy ----------------------------------------------------------------------------------


def test_erasure_clears_the_persons_texts(app, db, make_workshop, sms_log):
    workshop = make_workshop()
    registration = register_phone_only(db, workshop)
    other = register_phone_only(db, make_workshop(), mobile="+8613800000002", n=2)
    outbox.deliver_due()  # the confirmations are sent
    outbox.queue_registration_email(registration, EmailKind.CERTIFICATE_READY)  # one still waiting
    db.session.execute(
        db.update(OutboxMessage)
        .filter_by(kind="certificate_ready")
        .values(next_attempt_at=utcnow() + timedelta(hours=1))
    )
    db.session.commit()
    privacy.delete(registration)
    [kept] = rows(db, registration_id=registration.id, channel=Channel.SMS)
    assert (kept.kind, kept.status, kept.recipient, kept.body_text) == (
        "confirmation",
        OutboxStatus.SENT,
        "",
        "",
    )
    assert outbox.retry_failed() == 0
    assert registration.mobile == "" and registration.email.endswith("@invalid")
    assert registration.email != privacy.pseudonym("")  # someone without an email is not everyone else
    [untouched] = rows(db, registration_id=other.id)
    assert untouched.recipient == "+8613800000002" and untouched.body_text
