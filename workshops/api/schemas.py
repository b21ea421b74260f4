from __future__ import annotations

from marshmallow import Schema, fields


class SessionSchema(Schema):
    id = fields.Int(dump_only=True)
    title_en = fields.Str()
    title_zh = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    room = fields.Str()


class WorkshopSchema(Schema):
    id = fields.Int(dump_only=True)
    programme_id = fields.Int(allow_none=True)
    title_en = fields.Str()
    title_zh = fields.Str()
    description_en = fields.Str()
    description_zh = fields.Str()
    format = fields.Str(metadata={"enum": ["onsite", "online", "hybrid"]})
    status = fields.Str(metadata={"enum": ["draft", "published", "cancelled"]})
    city = fields.Str()
    venue = fields.Str()
    timezone = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    registration_opens_at = fields.AwareDateTime(allow_none=True)
    registration_closes_at = fields.AwareDateTime(allow_none=True)
    onsite_capacity = fields.Int()
    online_capacity = fields.Int()
    approval_required = fields.Bool()
    training_hours = fields.Decimal(as_string=True)
    seats_left = fields.Dict(keys=fields.Str(), values=fields.Int(), metadata={"description": "Free seats per mode"})


class WorkshopDetailSchema(WorkshopSchema):
    sessions = fields.List(fields.Nested(SessionSchema))


class WorkshopQuerySchema(Schema):
    city = fields.Str(load_default="")
    format = fields.Str(load_default="", metadata={"enum": ["", "onsite", "online", "hybrid"]})
