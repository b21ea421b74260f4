"""Text messages: what each kind says, and the providers that send them.

The outbox decides *when* a text goes (a row written with the change, retries with backoff);
this module decides *what* it says and *how* it is handed over:

- ``number_for`` says whether a registration gets a text of a kind, and to which E.164 number;
- ``compose`` writes it in the person's language within two segments (a long workshop title is
  shortened, never the link), with the provider's template code and parameters;
- ``send`` hands it to the provider set by ``SMS_PROVIDER``: ``aliyun`` (Alibaba Cloud SMS,
  ``SendSms`` of dysmsapi 2017-05-25, signed as its RPC signature method describes) or ``log``
  (the embedded default: a line in ``instance/sms.log``, nothing sent).

A send that did not happen raises ``SmsError`` and the outbox tries again later; ``Rejected``
means the provider will never deliver it (the number is not a mobile), so it is not retried.
Alibaba's SendSms is not idempotent: each row's ``OutId`` (``outbox-<id>``) stays the same over
its retries and comes back in delivery receipts, so the rare repeat (a worker that died after
the provider accepted a text, before the row was marked) is recognisable as the same message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import math
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..i18n import CATALOGUES
from ..models import EmailKind, OutboxMessage, Registration
from ..models.base import utcnow
from ..urls import external_url
from .confirmation_links import confirmation_token
from .contacts import InvalidMobile, normalise_mobile
from .survey_links import survey_token

log = logging.getLogger(__name__)

# The kinds a text is sent for; every other status is told by email only.
SMS_KINDS = (
    EmailKind.CONTACT_CHECK,  # a phone-only public registration's link (the email's, by text)
    EmailKind.CONFIRMATION,
    EmailKind.PROMOTED,
    EmailKind.SURVEY_INVITATION,
    EmailKind.SURVEY_REMINDER,
    EmailKind.CERTIFICATE_READY,
    EmailKind.REMINDER,  # before the workshop, to those who gave only a mobile (services.reminders)
    EmailKind.SESSION_REMINDER,
    EmailKind.WORKSHOP_CHANGED,  # to people who gave only a mobile (services.change_notices)
    EmailKind.WORKSHOP_CANCELLED,  # the reason is on the page the link opens
)
SURVEY_KINDS = {EmailKind.SURVEY_INVITATION, EmailKind.SURVEY_REMINDER}
MAX_SEGMENTS = 2
CHINA = "+86"


class SmsError(Exception):
    """The text was not sent this time (provider unreachable, throttled, misconfigured): retry."""


class Rejected(SmsError):
    """The provider will never deliver this text (e.g. the number is not a mobile): do not retry."""


@dataclass(frozen=True)
class Text:
    """One text message, ready for a provider."""

    kind: str
    language: str  # the language it is written in
    number: str  # E.164
    body: str  # what the person reads, less the sign name the provider puts in front
    template: str  # the provider's template code ("" for the log file)
    params: dict[str, str]  # the template's variables: the (shortened) title and the link's token
    out_id: str  # the same for every attempt of one outbox row


# --- Segments -------------------------------------------------------------------------------

# The GSM 03.38 default alphabet; the extension table's characters take two places.
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def segments(text: str, number: str = "") -> int:
    """How many segments the text is sent (and billed) as.

    GSM-7 text: 160 characters in one, 153 in each part of a longer one. With any other
    character (Chinese): UCS-2, 70 in one, 67 in each part. Mainland China's carriers count every
    character as one and split at 70 and 67 whatever the alphabet, so to a +86 number English
    text is counted that way too (Alibaba's domestic rule).
    """
    if number.startswith(CHINA):
        length, single, part = len(text), 70, 67
    elif all(c in GSM7 or c in GSM7_EXTENDED for c in text):
        length, single, part = sum(2 if c in GSM7_EXTENDED else 1 for c in text), 160, 153
    else:
        length, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if length <= single else math.ceil(length / part)


def signed(body: str) -> str:
    """The text as the phone shows it: the provider puts the sign name in 【】 in front."""
    sign = current_app.config.get("SMS_SIGN_NAME", "")
    return f"【{sign}】{body}" if sign else body


# --- What each kind says ----------------------------------------------------------------------


# In the current locale. The provider's templates must say the same (README, "Text messages").
_WORDINGS: dict[str, Callable[..., str]] = {
    EmailKind.CONTACT_CHECK: lambda **v: _("Keep your place at %(title)s, confirm in 30 min: %(link)s", **v),
    EmailKind.CONFIRMATION: lambda **v: _("Confirmed: %(title)s. Ticket: %(link)s", **v),
    EmailKind.PROMOTED: lambda **v: _("You have a seat now: %(title)s. Ticket: %(link)s", **v),
    EmailKind.SURVEY_INVITATION: lambda **v: _("Thanks for attending %(title)s. Feedback: %(link)s", **v),
    EmailKind.SURVEY_REMINDER: lambda **v: _("Reminder: your feedback on %(title)s: %(link)s", **v),
    EmailKind.CERTIFICATE_READY: lambda **v: _("Certificate ready: %(title)s. Download: %(link)s", **v),
    EmailKind.REMINDER: lambda **v: _("Reminder: %(title)s is coming up. Ticket: %(link)s", **v),
    EmailKind.SESSION_REMINDER: lambda **v: _("Starting within the hour: %(title)s. Join: %(link)s", **v),
    EmailKind.WORKSHOP_CHANGED: lambda **v: _("Changed: %(title)s. What is new: %(link)s", **v),
    EmailKind.WORKSHOP_CANCELLED: lambda **v: _(
        "Cancelled: %(title)s will not take place. Why: %(link)s", **v
    ),
}


def _link(kind: str, registration: Registration) -> tuple[str, str]:
    """The link the text carries and its last part (the template's variable: Alibaba wants the
    site's address written in the template itself)."""
    if kind in SURVEY_KINDS:
        token = survey_token(registration)
        return external_url("surveys.answer", token=token), token
    if kind == EmailKind.CONTACT_CHECK:
        token = confirmation_token(registration)
        return external_url("registration.confirm_contact", token=token), token
    if kind == EmailKind.SESSION_REMINDER:  # the online participant's personal join link
        return external_url("registration.join", token=registration.ticket_token), registration.ticket_token
    return external_url("registration.ticket", token=registration.manage_token), registration.manage_token


def _fit(kind: str, title: str, link: str, number: str) -> tuple[str, str]:
    """The wording with as much of the title as fits in MAX_SEGMENTS; the link is kept whole."""
    wording = _WORDINGS[kind]

    def shortened(length: int) -> str:
        if length >= len(title):
            return title
        kept = title[:length].rstrip()
        return kept + "…" if kept else ""

    def fits(length: int) -> bool:
        return segments(signed(wording(title=shortened(length), link=link)), number) <= MAX_SEGMENTS

    # The longest title that fits (a shorter title never needs more segments).
    low, high = 0, len(title)
    if not fits(high):
        while low < high:
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
    shown = shortened(high)
    return wording(title=shown, link=link), shown


def provider_name() -> str:
    return current_app.config.get("SMS_PROVIDER", "")


def _template(kind: str, language: str) -> tuple[str, str]:
    """(template code, the language it is in); Aliyun's templates are registered per language,
    and a person whose language has none gets the other one."""
    codes = current_app.config.get("SMS_TEMPLATES", {}).get(str(kind), {})
    other = "en" if language == "zh" else "zh"
    for candidate in (language, other):
        if codes.get(candidate):
            return codes[candidate], candidate
    return "", language


def sends(kind: str) -> bool:
    """Whether texts of this kind go out at all (a provider, and for Aliyun a template code)."""
    if kind not in SMS_KINDS:
        return False
    name = provider_name()
    if name == "log":
        return True
    return name == "aliyun" and bool(_template(kind, "zh")[0])


def number_for(registration: Registration, kind: str) -> str:
    """The E.164 number a text of this kind goes to, or "" when none is sent.

    The confirmation link proves the contact the registration is known by: the mailbox when there
    is an email (a link by text too would let whoever typed in someone else's address confirm it
    from their own phone, and pays for their texts), the phone only when there is none."""
    if not registration.mobile or not sends(kind):
        return ""
    if kind == EmailKind.CONTACT_CHECK and registration.email:
        return ""
    try:
        return normalise_mobile(registration.mobile)
    except InvalidMobile:
        log.info("sms: registration %s has no usable mobile number; no text", registration.id)
        return ""


def compose(kind: str, registration: Registration, number: str, out_id: str = "") -> Text:
    """The text of this kind for this person, in their language (or the template's)."""
    language = registration.language if registration.language in CATALOGUES else "en"
    template = ""
    if provider_name() == "aliyun":
        template, language = _template(kind, language)
    link, token = _link(kind, registration)
    title = registration.workshop.localized("title", language)
    with force_locale(CATALOGUES[language]):
        body, shown = _fit(kind, title, link, number)
    return Text(
        kind=str(kind),
        language=language,
        number=number,
        body=body,
        template=template,
        params={"title": shown, "token": token},
        out_id=out_id,
    )


def compose_for(message: OutboxMessage) -> Text:
    registration = message.registration
    if registration is None:
        raise Rejected("the registration no longer exists")
    return compose(message.kind, registration, message.recipient, out_id=f"outbox-{message.id}")


def send(message: OutboxMessage) -> str:
    """Hand an outbox row's text to the provider; returns the provider's id for it."""
    text = compose_for(message)
    message.body_text = text.body
    return provider().send(text)


# --- Providers ----------------------------------------------------------------------------------


def masked(number: str) -> str:
    """+8613800000001 → +86138****0001: enough to tell texts apart, not to call anyone."""
    return number[:-8] + "****" + number[-4:] if len(number) > 9 else "****"


class LogFile:
    """The embedded default: each text is a line in a file (instance/sms.log), nothing is sent.

    The number is masked, so the file holds no one's phone number to erase later.
    """

    def __init__(self, path: str):
        self.path = Path(path)

    def send(self, text: Text) -> str:
        line = (
            f"{utcnow().isoformat(timespec='seconds')} {text.out_id} to {masked(text.number)}"
            f" [{text.kind}, {text.language}, {segments(signed(text.body), text.number)} segment(s)]"
            f" {signed(text.body)}\n"
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line)
        return text.out_id


def percent_encode(value: str) -> str:
    """RFC 3986 as Alibaba's RPC signature wants it: only A-Z a-z 0-9 - _ . ~ stay as they are,
    a space is %20 (not +), UTF-8 bytes as %XY with capital hex digits."""
    return quote(value, safe="-_.~")


def rpc_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Alibaba Cloud's RPC signature (SignatureMethod HMAC-SHA1, SignatureVersion 1.0).

    The parameters (all but Signature) sorted by name, each name and value percent-encoded and
    joined with = and &; StringToSign = method & percentEncode("/") & percentEncode(that); the
    signature is Base64(HMAC-SHA1(secret + "&", StringToSign)).
    """
    canonical = "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}"
        for name in sorted(params)
        if name != "Signature"
    )
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Aliyun:
    """Alibaba Cloud SMS: ``SendSms`` (dysmsapi 2017-05-25), one POST per text."""

    ACTION = "SendSms"
    VERSION = "2017-05-25"
    TIMEOUT = 10  # seconds; Alibaba advises at least 1 s for mainland texts
    # Codes after which the same text to the same number can never succeed: the number is not a
    # mobile, a variable is too long for its template or holds a word the provider blocks.
    PERMANENT = frozenset(
        {"isv.MOBILE_NUMBER_ILLEGAL", "isv.PARAM_LENGTH_LIMIT", "isv.BLACK_KEY_CONTROL_LIMIT"}
    )

    def __init__(self, config):
        self.endpoint = config["SMS_ENDPOINT"]
        self.key_id = config["SMS_ACCESS_KEY_ID"]
        self.secret = config["SMS_ACCESS_KEY_SECRET"]
        self.sign_name = config["SMS_SIGN_NAME"]
        self.region = config["SMS_REGION"]

    @staticmethod
    def phone_number(number: str) -> str:
        """SendSms takes a mainland number as its 11 digits, others with their country code, no +."""
        return number[len(CHINA) :] if number.startswith(CHINA) else number.lstrip("+")

    def request(self, text: Text) -> dict[str, str]:
        """The signed parameters of the SendSms call (a fresh nonce and timestamp every time)."""
        params = {  # the operation's parameters, then the common ones (signing sorts them all)
            "PhoneNumbers": self.phone_number(text.number),
            "SignName": self.sign_name,
            "TemplateCode": text.template,
            "TemplateParam": json.dumps(text.params, ensure_ascii=False, separators=(",", ":")),
            "OutId": text.out_id,
            "Action": self.ACTION,
            "Version": self.VERSION,
            "RegionId": self.region,
            "Format": "JSON",
            "AccessKeyId": self.key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        params["Signature"] = rpc_signature("POST", params, self.secret)
        return params

    def send(self, text: Text) -> str:
        if not text.template:
            raise SmsError(f"no SMS_TEMPLATE_{str(text.kind).upper()} is set")
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in self.request(text).items())
        request = urllib.request.Request(
            self.endpoint,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.TIMEOUT) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:  # 4xx/5xx: the answer says why
            status, raw = error.code, error.read()
        except (OSError, http.client.HTTPException) as error:
            # Refused or reset: not sent. Timed out or cut short: perhaps sent; the retry carries
            # the same OutId, so a repeat is recognisable in the provider's records.
            raise SmsError(f"Alibaba Cloud SMS unreachable: {error}") from error
        try:
            answer = json.loads(raw)
        except ValueError:
            raise SmsError(f"Alibaba Cloud SMS answered HTTP {status} without JSON") from None
        code, reason = str(answer.get("Code", "")), str(answer.get("Message", ""))
        if status == 200 and code == "OK":
            return str(answer.get("BizId", ""))
        if code in self.PERMANENT:
            raise Rejected(f"{code}: {reason}")
        raise SmsError(f"HTTP {status} {code}: {reason}")  # throttled, outage, settings: retry


def provider() -> LogFile | Aliyun:
    name = provider_name()
    if name == "log":
        return LogFile(current_app.config["SMS_LOG_FILE"])
    if name == "aliyun":
        return Aliyun(current_app.config)
    raise SmsError("SMS_PROVIDER is not set: text messages are off")


def log_file_notice() -> str | None:
    """Where texts are written instead of sent (the embedded default), for the staff pages."""
    if provider_name() != "log":
        return None
    path = Path(current_app.config["SMS_LOG_FILE"])
    root = Path(current_app.instance_path).parent
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
