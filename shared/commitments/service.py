from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, or_, select

from shared.audit.service import BOOKKEEPING
from shared.auth.ownership import values_of
from shared.commitments.events import commitment_changed
from shared.commitments.models import (
    COMMITMENT_SEARCH,
    Commitment,
    commitment_recommendations,
    commitment_themes,
)
from shared.commitments.repository import CommitmentRepository
from shared.commitments.schemas import CommitmentSelection
from shared.crud import CrudService, Ref, date_range, equal_conditions
from shared.errors import ValidationFailed, field_error
from shared.events.service import EventType, NewEvent, commitment_path, emit
from shared.parties.models import Party
from shared.people.models import Acting, owner_person_condition
from shared.recommendations.models import Recommendation
from shared.search import AnyOf
from shared.sources.models import Source
from shared.themes.service import ThemeService
from shared.tk.models import TOEZEGGING_SEARCH, TkToezegging


class CommitmentService(CrudService[Commitment]):
    repository_class = CommitmentRepository
    natural_keys = ("key", "tk_toezegging_nummer")
    refs = {
        "owner_party_id": Ref(Party, "party"),
        "made_to_party_id": Ref(Party, "party"),
        "source_id": Ref(Source, "source"),
        ("owner_person", "party_id"): Ref(Party, "party"),
    }
    relation_fields = ("themes", "recommendation_ids", "subject_party_ids", "recurrence")

    def column_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        values = super().column_values(data)
        if "recurrence" in data:
            recurrence = data["recurrence"] or {}
            values["recurrence_unit"] = recurrence.get("unit")
            values["recurrence_start"] = recurrence.get("start")
        return values

    async def apply_relations(self, obj: Commitment, data: Mapping[str, Any]) -> None:
        if data.get("themes") is not None:
            obj.themes = await ThemeService(self.session).resolve(data["themes"])
        if data.get("recommendation_ids") is not None:
            before = {r.id for r in obj.recommendations} if obj.id is not None else set()
            ids = list(dict.fromkeys(data["recommendation_ids"]))
            found = (
                list(
                    (
                        await self.session.execute(select(Recommendation).where(Recommendation.id.in_(ids)))
                    ).scalars()
                )
                if ids
                else []
            )
            missing = [i for i in ids if i not in {r.id for r in found}]
            if missing:
                raise ValidationFailed(
                    "The request refers to recommendations that do not exist.",
                    [
                        field_error(
                            ["body", "recommendation_ids", ids.index(i)],
                            f"no recommendation with id {i}",
                            "reference",
                        )
                        for i in missing
                    ],
                )
            obj.recommendations = found
            self._unlinked = before - set(ids)
        if data.get("subject_party_ids") is not None:
            ids = list(dict.fromkeys(data["subject_party_ids"]))
            parties = (
                list((await self.session.execute(select(Party).where(Party.id.in_(ids)))).scalars())
                if ids
                else []
            )
            missing = [i for i in ids if i not in {p.id for p in parties}]
            if missing:
                raise ValidationFailed(
                    "The request refers to parties that do not exist.",
                    [
                        field_error(
                            ["body", "subject_party_ids", ids.index(i)], f"no party with id {i}", "reference"
                        )
                        for i in missing
                    ],
                )
            obj.subject_parties = parties

    @staticmethod
    def _check_recurrence(start: Any, due: Any) -> None:
        if start is not None and due is not None and start > due:
            raise ValidationFailed(
                "The recurrence starts after the due date that ends it.",
                [field_error(["body", "recurrence", "start"], "after due_date")],
            )

    def validate_object(self, obj: Commitment) -> None:
        self._check_recurrence(obj.recurrence_start, obj.due_date)

    async def create(self, data: dict[str, Any], actor: Acting | None = None) -> Commitment:
        self._check_recurrence((data.get("recurrence") or {}).get("start"), data.get("due_date"))
        obj = await super().create(data, actor)
        await emit(self.session, _event(EventType.commitment_created, obj))
        return obj

    async def update(self, obj: Commitment, data: dict[str, Any], actor: Acting | None = None) -> Commitment:
        """An update that changes nothing announces nothing; one that does names the fields (not their values:
        readers GET the subject)."""
        before = values_of(obj)
        obj = await super().update(obj, data, actor)
        after = values_of(obj)
        fields = sorted(
            {k for k in after if k not in BOOKKEEPING and after[k] != before.get(k)}
            | {k for k in self.relation_fields if data.get(k) is not None}
        )
        if fields:
            await emit(self.session, _event(EventType.commitment_updated, obj, fields=fields))
        return obj

    @staticmethod
    def conditions(filters: CommitmentSelection) -> list[Any]:
        """Filters as conditions with *named* binds (the PostgreSQL list path caches SQL per shape)."""
        conds: list[Any] = equal_conditions(
            filters, Commitment, "owner_party_id", "origin", "tk_toezegging_nummer", "source_id"
        )
        conds += date_range(
            CommitmentRepository.sorting.fields["due_date"], filters.due_before, filters.due_after
        )
        if filters.theme:
            conds.append(
                Commitment.id.in_(
                    select(commitment_themes.c.commitment_id).where(
                        commitment_themes.c.theme_key == bindparam("theme", filters.theme)
                    )
                )
            )
        if filters.recommendation_id:
            conds.append(
                Commitment.id.in_(
                    select(commitment_recommendations.c.commitment_id).where(
                        commitment_recommendations.c.recommendation_id
                        == bindparam("recommendation_id", filters.recommendation_id)
                    )
                )
            )
        if filters.q:
            # Its own title, description and quote, and the text of the TK toezegging it follows. The TK arm is one
            # sub-select per request (AnyOf): instant for a rare term, but a term common in TK texts makes it check
            # each of them (bench/api/RESULTS.md, about 100-150 ms at 20,000); a search column on commitments kept
            # in step with the TK text would remove that.
            linked = select(TkToezegging.nummer).where(
                TOEZEGGING_SEARCH.match(filters.q, columns=("tekst",), name="tk_q")
            )
            conds.append(
                or_(
                    COMMITMENT_SEARCH.match(filters.q, name="q"),
                    AnyOf(Commitment.tk_toezegging_nummer, linked),
                )
            )
        if filters.status:
            conds.append(Commitment.status == bindparam("status", str(filters.status)))
        if filters.schedule:
            conds.append(Commitment.schedule == bindparam("schedule", str(filters.schedule)))
        if filters.owner_person:
            conds.append(owner_person_condition(Commitment, filters.owner_person))
        return conds

    _unlinked: set[Any] = set()

    async def after_write(self, obj: Commitment, *, created: bool) -> None:
        commitment_changed(self.session, obj.id)
        await self._roll_up(
            self._unlinked
        )  # the commitment's own recalculation rolls up the ones still linked

    async def delete(self, obj: Commitment) -> None:
        linked = {r.id for r in obj.recommendations}
        event = _event(EventType.commitment_deleted, obj)
        await super().delete(obj)
        await emit(self.session, event)
        await self._roll_up(linked)

    async def _roll_up(self, recommendation_ids: set[Any]) -> None:
        """A recommendation that lost this commitment is judged on what remains, now, in this transaction (a
        roll-up reads only stored statuses, so it needs no recalculation of its own)."""
        if recommendation_ids:
            from shared.status.inputs import Thresholds
            from shared.status.service import StatusService

            await StatusService(self.session, Thresholds()).roll_up_recommendations(
                sorted(recommendation_ids)
            )


def _event(kind: EventType, obj: Commitment, **extra: Any) -> NewEvent:
    return NewEvent(kind, commitment_path(obj.id), {"commitment_id": str(obj.id), "key": obj.key, **extra})
