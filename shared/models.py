"""Imports every model so Alembic and the mappers see the whole schema."""

from shared.actions.models import Action  # noqa: F401
from shared.audit.models import AuditEntry  # noqa: F401
from shared.auth.models import ApiKey  # noqa: F401
from shared.commitments.models import Commitment  # noqa: F401
from shared.db import Base  # noqa: F401
from shared.events.models import Event  # noqa: F401
from shared.fulfilment.models import Fulfilment  # noqa: F401
from shared.idempotency.models import IdempotencyRecord  # noqa: F401
from shared.milestones.models import Measurement, Milestone  # noqa: F401
from shared.parties.models import Party  # noqa: F401
from shared.recommendations.models import Recommendation  # noqa: F401
from shared.signals.models import ClientSignal, SignalBatch, SignalBatchError, SignalCount, SignalCountState  # noqa: F401
from shared.sources.models import Source  # noqa: F401
from shared.status.models import StatusHistory, StatusOverride  # noqa: F401
from shared.themes.models import Theme  # noqa: F401
from shared.tk.models import (  # noqa: F401
    TkActiviteit,
    TkDocument,
    TkKamerstukdossier,
    TkSyncRun,
    TkSyncState,
    TkToezegging,
    TkZaak,
)
from shared.webhooks.models import Webhook, WebhookDelivery, WebhookFeedState  # noqa: F401
