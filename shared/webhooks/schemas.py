from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.events.service import EventType
from shared.schemas import ListParams, OutModel, StrictModel, not_null
from shared.webhooks.models import DeliveryStatus

Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Description = Annotated[str, StringConstraints(max_length=500)]
EXAMPLE_URL = "https://zorgkantoor.example.nl/hooks/nakoming"


class WebhookIn(StrictModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "url": EXAMPLE_URL,
                    "event_types": ["commitment.status_changed"],
                    "description": "Status board",
                }
            ]
        }
    }

    url: Url = Field(
        description="Where deliveries are POSTed: https, a public address (a private, loopback or "
        "link-local target is a 422).",
        examples=[EXAMPLE_URL],
    )
    event_types: list[EventType] = Field(
        default_factory=list, max_length=20, description="The event types to deliver; empty: every type."
    )
    description: Description | None = Field(default=None, description="What the subscription is for.")


class WebhookUpdate(StrictModel):
    model_config = {"json_schema_extra": {"examples": [{"enabled": True}]}}

    url: Url = not_null(description="A new target (same rules as on creation).")
    event_types: list[EventType] = not_null(
        max_length=20, description="The event types to deliver; empty: every type."
    )
    description: Description | None = Field(default=None, description="What the subscription is for.")
    enabled: bool = not_null(
        description="false pauses deliveries (they wait); true resumes them, "
        "also after the webhook was disabled for failing."
    )


class WebhookOut(OutModel):
    id: uuid.UUID
    url: str
    event_types: list[EventType] = Field(description="Empty: every type.")
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why deliveries stopped (set when retries ran out).")
    party_id: uuid.UUID | None = Field(
        description="The party whose keys manage it (null: staff); it receives "
        "only events that party may read."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret (`whsec_` + base64), shown only now: verify every "
        "delivery's `webhook-signature` with it.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class DeliveryOut(OutModel):
    id: uuid.UUID = Field(
        description="Also the `webhook-id` header of every attempt (receivers deduplicate on it)."
    )
    webhook_id: uuid.UUID
    event_id: int | None = Field(description="The event delivered (null for a test delivery).")
    event_type: str = Field(
        description="An event type, or `webhook.test`.", examples=["commitment.status_changed"]
    )
    subject: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None = Field(description="The receiver's HTTP status at the last attempt.")
    last_error: str | None
    created_at: dt.datetime


class WebhookFilters(ListParams):
    enabled: bool | None = Field(
        default=None, description="Only enabled (true) or paused/disabled (false) webhooks."
    )


class DeliveryFilters(ListParams):
    status: DeliveryStatus | None = Field(default=None, description="Only deliveries in this state.")
