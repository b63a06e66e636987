from __future__ import annotations

from shared.actions.models import Action
from shared.crud import Repository
from shared.pagination import SortField, Sorting


class ActionRepository(Repository[Action]):
    model = Action
    resource = "action"
    sorting = Sorting(
        fields={
            "created_at": SortField(Action.created_at, "datetime"),
            "title": SortField(Action.title),
            "end_date": SortField(Action.end_date, "date", nullable=True),
            "last_update_date": SortField(Action.last_update_date, "date", nullable=True),
        },
        id_column=Action.id,
        default="created_at",
    )
