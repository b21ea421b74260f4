"""The domain model; importing this package registers every table."""
from .attendance import Attendance
from .audit import AuditEvent
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
from .job import Job
from .outbox import OutboxMessage
from .programme import Programme
from .registration import Registration
from .survey import Answer, Question, Response, Survey, SurveyParticipation
from .user import User, workshop_organiser
from .workshop import Session, Workshop

__all__ = [
    "Answer", "Question", "Response", "Survey", "SurveyParticipation",
    "Attendance", "AttendanceMode", "AuditEvent", "CheckInLink", "CheckInMethod", "Gender", "Job", "OrganisationType",
    "OutboxMessage", "OutboxStatus", "Programme", "Registration", "RegistrationSource",
    "RegistrationStatus", "Role", "ScanLog", "Session", "User", "Workshop", "WorkshopFormat", "WorkshopStatus",
    "workshop_organiser",
]
