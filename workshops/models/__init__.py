"""The domain model; importing this package registers every table."""

from .attendance import Attendance
from .audit import AuditEvent
from .certificate import Certificate, CertificateAsset, SerialCounter
from .checkin import CheckInLink, ScanLog
from .enums import (
    AttendanceMode,
    CheckInMethod,
    Gender,
    OrganisationType,
    OutboxStatus,
    RegistrationSource,
    RegistrationStatus,
    Role,
    WorkshopFormat,
    WorkshopStatus,
)
from .heartbeat import Heartbeat
from .import_mapping import ImportMapping
from .job import Job, JobFile, JobKind, JobStatus
from .outbox import Channel, EmailKind, OutboxMessage
from .place_alias import PlaceAlias
from .programme import Programme
from .registration import Registration
from .reminder import SentReminder
from .schedule_change import CancelledCalendarEvent, ChangeNotice
from .survey import Answer, Question, Response, Survey, SurveyInvitation, SurveyParticipation
from .user import SignInThrottle, User, staff_programme, workshop_organiser
from .workshop import Session, Workshop

__all__ = [
    "PlaceAlias",
    "CancelledCalendarEvent",
    "ChangeNotice",
    "Certificate",
    "CertificateAsset",
    "SerialCounter",
    "Answer",
    "Question",
    "Response",
    "Survey",
    "SurveyInvitation",
    "SurveyParticipation",
    "Attendance",
    "AttendanceMode",
    "AuditEvent",
    "CheckInLink",
    "Channel",
    "CheckInMethod",
    "EmailKind",
    "Gender",
    "Heartbeat",
    "ImportMapping",
    "Job",
    "JobFile",
    "JobKind",
    "JobStatus",
    "OrganisationType",
    "OutboxMessage",
    "OutboxStatus",
    "Programme",
    "Registration",
    "RegistrationSource",
    "RegistrationStatus",
    "Role",
    "ScanLog",
    "SignInThrottle",
    "Session",
    "User",
    "Workshop",
    "WorkshopFormat",
    "WorkshopStatus",
    "staff_programme",
    "workshop_organiser",
    "SentReminder",
]
