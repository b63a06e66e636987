from __future__ import annotations

from shared.crud import Repository
from shared.milestones.models import Measurement, Milestone
from shared.pagination import SortField, Sorting


class MilestoneRepository(Repository[Milestone]):
    model = Milestone
    resource = "milestone"
    sorting = Sorting(
        fields={"due_date": SortField(Milestone.due_date, "date"), "created_at": SortField(Milestone.created_at, "datetime"),
                "title": SortField(Milestone.title)},
        id_column=Milestone.id,
        default="due_date",
    )


class MeasurementRepository(Repository[Measurement]):
    model = Measurement
    resource = "measurement"
    sorting = Sorting(fields={"date": SortField(Measurement.date, "date")}, id_column=Measurement.id, default="date")
