from __future__ import annotations

from shared.crud import Repository
from shared.pagination import SortField, Sorting
from shared.parties.models import Party


class PartyRepository(Repository[Party]):
    model = Party
    resource = "party"
    sorting = Sorting(
        fields={"name": SortField(Party.name), "created_at": SortField(Party.created_at, "datetime")},
        id_column=Party.id,
        default="name",
    )
