"""The one catalogue of status explanations, in Dutch (the default) and English.

A reason is stored as a message `code` with its `params` (plain JSON values) and the Dutch text rendered from
them; `render()` gives any language from the same code and params, so no rule ever builds a sentence itself.
Dates in params are ISO strings and are written out per language ("1 juli 2026", "1 July 2026").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
# The reader's language for this request (set by the API from Accept-Language); output models render with it.
reader_language: ContextVar[str] = ContextVar("reader_language", default=DEFAULT_LANGUAGE)

_MONTHS = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}

CATALOGUE: dict[str, dict[str, str]] = {
    # TK link
    "tk.not_mirrored": {
        "nl": "Gekoppeld aan toezegging {nummer}, die (nog) niet in de spiegel van de Tweede Kamer staat.",
        "en": "Linked to toezegging {nummer}, which is not (yet) in the Tweede Kamer mirror.",
    },
    "tk.removed": {
        "nl": "De Tweede Kamer heeft toezegging {nummer} verwijderd; de status ervan telt niet meer.",
        "en": "The Tweede Kamer removed toezegging {nummer}; its status is no longer used.",
    },
    "tk.no_status": {
        "nl": "Toezegging {nummer} heeft bij de Tweede Kamer geen status.",
        "en": "Toezegging {nummer} has no status at the Tweede Kamer.",
    },
    "tk.unreadable": {
        "nl": "De Tweede Kamer geeft toezegging {nummer} de status '{status}'. Dat is geen Openstaand, Voldaan, "
        "Deels voldaan of Vervallen; de waarde is bewaard zoals ontvangen en niet uitgelegd.",
        "en": "The Tweede Kamer gives toezegging {nummer} the status '{status}', which is not one of Openstaand, "
        "Voldaan, Deels voldaan or Vervallen; it is kept as received and not interpreted.",
    },
    "tk.open": {
        "nl": "De Tweede Kamer vermeldt toezegging {nummer} als open ('{status}').",
        "en": "The Tweede Kamer lists toezegging {nummer} as open ('{status}').",
    },
    "tk.closed": {
        "nl": "De Tweede Kamer markeert toezegging {nummer} als {verdict} ('{status}'){letters}.",
        "en": "The Tweede Kamer marks toezegging {nummer} as {verdict} ('{status}'){letters}.",
    },
    "tk.letters": {"nl": " bij brief {letters}", "en": " by letter {letters}"},
    "tk.letter": {"nl": "{nummer} van {date}", "en": "{nummer} of {date}"},
    "tk.sample_wrapped": {"nl": "{reason}{sample}", "en": "{reason}{sample}"},
    "tk.sample": {
        "nl": " Let op: dit komt uit de meegeleverde voorbeeldgegevens, niet uit het register van de Kamer.",
        "en": " Note: this comes from the bundled sample data, not from the parliament's record.",
    },
    "verdict.fulfilled": {"nl": "voldaan", "en": "fulfilled"},
    "verdict.partially_fulfilled": {"nl": "deels voldaan", "en": "partially fulfilled"},
    "verdict.lapsed": {"nl": "vervallen", "en": "lapsed"},
    # Fulfilment records
    "fulfilment.recorded": {
        "nl": "Vastgelegd als {verdict} op {date}{period}: {summary} ({review}; bewijs: {evidence}).",
        "en": "Recorded as {verdict} on {date}{period}: {summary} ({review}; evidence: {evidence}).",
    },
    "fulfilment.beside_tk": {
        "nl": "Vastgelegd als {verdict} op {date} ({review}); de status van toezegging {nummer} bij de Tweede "
        "Kamer blijft beslissend.",
        "en": "Recorded as {verdict} on {date} ({review}); the Tweede Kamer's status of toezegging {nummer} "
        "still decides.",
    },
    "fulfilment.rejected": {
        "nl": "De vastgelegde nakoming van {date}{period} is afgewezen door {reviewer}{note}.",
        "en": "The fulfilment recorded on {date}{period} was rejected by {reviewer}{note}.",
    },
    "review.pending": {"nl": "nog niet beoordeeld", "en": "not yet reviewed"},
    "review.accepted": {"nl": "geaccepteerd door {reviewer}", "en": "accepted by {reviewer}"},
    "period.of": {"nl": " voor de periode {start} t/m {end}", "en": " for the period {start} to {end}"},
    "period.range": {"nl": "{start} t/m {end}", "en": "{start} to {end}"},
    # Deadline
    "deadline.passed": {
        "nl": "De {label} {date} is verstreken en de toezegging is niet nagekomen.",
        "en": "The {label} {date} has passed and the commitment is not fulfilled.",
    },
    "deadline.soon": {
        "nl": "De {label} {date} valt binnen {days} dagen.",
        "en": "The {label} {date} is within {days} days.",
    },
    "deadline.no_progress": {
        "nl": "De termijn nadert en niets laat voortgang zien (geen meting op koers, geen actie onderweg).",
        "en": "The deadline is near and there is no evidence of progress (no measurement on course, "
        "no action under way).",
    },
    "label.commitment": {"nl": "einddatum", "en": "due date"},
    "label.tk_datum_nakoming": {"nl": "TK-termijn (datumNakoming)", "en": "TK deadline (datumNakoming)"},
    "label.period": {"nl": "termijn van de lopende periode", "en": "deadline of the current period"},
    # Recurrence
    "recurrence.missed": {
        "nl": "{count} van {total} verstreken perioden zonder nakoming: {periods}.",
        "en": "{count} of {total} past periods without fulfilment: {periods}.",
    },
    "recurrence.current_done": {
        "nl": "De lopende periode ({start} t/m {end}) is als nagekomen vastgelegd.",
        "en": "The current period ({start} to {end}) is recorded as fulfilled.",
    },
    "recurrence.all_done": {
        "nl": "Alle {total} perioden tot en met {date} zijn nagekomen.",
        "en": "All {total} periods up to {date} are fulfilled.",
    },
    "recurrence.kept": {
        "nl": "Alle {total} verstreken perioden zijn nagekomen.",
        "en": "All {total} past periods are fulfilled.",
    },
    # Milestones
    "milestone.reached": {
        "nl": "Mijlpaal '{title}' is bereikt op {date}{late}.",
        "en": "Milestone '{title}' was reached on {date}{late}.",
    },
    "milestone.late": {"nl": " (na de geplande datum {due})", "en": " (after its due date {due})"},
    "milestone.pending_qualitative": {
        "nl": "Mijlpaal '{title}' staat gepland voor {due} en is nog niet als bereikt vastgelegd.",
        "en": "Milestone '{title}' is due on {due} and is not yet recorded as reached.",
    },
    "milestone.missed_qualitative": {
        "nl": "Mijlpaal '{title}' moest op {due} bereikt zijn; dat is niet vastgelegd.",
        "en": "Milestone '{title}' was due on {due}; it is not recorded as reached.",
    },
    "milestone.met": {
        "nl": "Mijlpaal '{title}' heeft het doel {target} gehaald: {value} gemeten op {date}{late}.",
        "en": "Milestone '{title}' reached its target {target}: {value} measured on {date}{late}.",
    },
    "milestone.missed_unmeasured": {
        "nl": "Mijlpaal '{title}' moest op {due} klaar zijn en heeft geen meting: doel {target} is niet "
        "aangetoond.",
        "en": "Milestone '{title}' was due on {due} and has no measurement: target {target} is not shown to "
        "be met.",
    },
    "milestone.missed_short": {
        "nl": "Mijlpaal '{title}' moest op {due} klaar zijn; de laatste meting {value} ({date}) blijft onder "
        "doel {target}.",
        "en": "Milestone '{title}' was due on {due}; the latest measurement {value} ({date}) falls short of "
        "target {target}.",
    },
    "milestone.unmeasured": {
        "nl": "Mijlpaal '{title}' (gepland {due}, doel {target}) heeft nog geen meting.",
        "en": "Milestone '{title}' (due {due}, target {target}) has no measurement yet.",
    },
    "milestone.trend_short": {
        "nl": "Mijlpaal '{title}': {value} op {date}{planned}; in het huidige tempo wordt {projected} gehaald "
        "op {due}, onder doel {target}.",
        "en": "Milestone '{title}': {value} on {date}{planned}; at the current trend it reaches {projected} by "
        "{due}, short of target {target}.",
    },
    "milestone.trend_ok": {
        "nl": "Mijlpaal '{title}': {value} op {date}{planned}; in het huidige tempo wordt {projected} gehaald "
        "op {due} (doel {target}).",
        "en": "Milestone '{title}': {value} on {date}{planned}; at the current trend it reaches {projected} by "
        "{due} (target {target}).",
    },
    "milestone.behind_line": {
        "nl": "Mijlpaal '{title}': {value} op {date}{planned}, achter op de geplande lijn naar doel {target}.",
        "en": "Milestone '{title}': {value} on {date}{planned}, behind the planned line to target {target}.",
    },
    "milestone.on_line": {
        "nl": "Mijlpaal '{title}': {value} op {date}{planned}, op de geplande lijn naar doel {target}.",
        "en": "Milestone '{title}': {value} on {date}{planned}, on the planned line to target {target}.",
    },
    "milestone.one_point": {
        "nl": "Mijlpaal '{title}': {value} op {date}; zonder nulmeting toont één meting nog geen trend "
        "(doel {target}).",
        "en": "Milestone '{title}': {value} on {date}; without a baseline one measurement shows no trend yet "
        "(target {target}).",
    },
    "milestone.planned": {
        "nl": " tegen {planned} gepland voor die datum",
        "en": " against {planned} planned for that date",
    },
    # Actions
    "action.blocked": {"nl": "Actie '{title}' is geblokkeerd.", "en": "Action '{title}' is blocked."},
    "action.done": {"nl": "Actie '{title}' is afgerond.", "en": "Action '{title}' is done."},
    "action.stale": {
        "nl": "Actie '{title}' is {state} maar heeft sinds {date} geen update gehad (meer dan {days} dagen).",
        "en": "Action '{title}' is {state} but has had no update since {date} (more than {days} days).",
    },
    "action.in_progress": {
        "nl": "Actie '{title}' is in uitvoering (laatste update {date}).",
        "en": "Action '{title}' is in progress (last update {date}).",
    },
    "state.planned": {"nl": "gepland", "en": "planned"},
    "state.in_progress": {"nl": "in uitvoering", "en": "in progress"},
    # Progress from milestones and actions
    "progress.derived": {
        "nl": "Nagekomen volgens de eigen gegevens: alle mijlpalen gehaald ({milestones}) en alle acties afgerond "
        "of vervallen ({actions}).",
        "en": "Fulfilled by its own evidence: all milestones met ({milestones}) and all actions done or "
        "cancelled ({actions}).",
    },
    "progress.actions_open": {
        "nl": "Alle mijlpalen zijn gehaald ({milestones}); nog {open} van de {actions} acties lopen.",
        "en": "All milestones are met ({milestones}); {open} of {actions} actions are still open.",
    },
    "progress.missed": {
        "nl": "Na de einddatum {date}: {met} van {total} mijlpalen gehaald, {missed} gemist.",
        "en": "After the due date {date}: {met} of {total} milestones met, {missed} missed.",
    },
    "progress.rejected": {
        "nl": "De mijlpalen en acties wijzen op nakoming, maar de vastgelegde nakoming is afgewezen.",
        "en": "Milestones and actions point to fulfilment, but the recorded fulfilment was rejected.",
    },
    # Signals
    "signals.rise": {
        "nl": "Meer cliëntsignalen: {recent} in de laatste {recent_days} dagen over {scope}, tegen {expected} "
        "verwacht op grond van de {baseline_days} dagen daarvoor (p={p_value}).",
        "en": "Client signals rose: {recent} in the last {recent_days} days on {scope}, against {expected} "
        "expected from the {baseline_days} days before (p={p_value}).",
    },
    "signals.scope": {"nl": "de thema's {themes}", "en": "the themes {themes}"},
    "signals.scope_linked": {"nl": "deze toezegging", "en": "this commitment"},
    # Override
    "override.active": {
        "nl": "Status met de hand gezet op {status}{until}: {reason}",
        "en": "Status set by hand to {status}{until}: {reason}",
    },
    "override.until": {"nl": " tot en met {date}", "en": " until {date}"},
    "override.expired": {
        "nl": "Een handmatige status ({status}) is verlopen op {date}; de berekende status geldt weer.",
        "en": "A manual status ({status}) expired on {date}; the computed status applies again.",
    },
    # Nothing yet
    "none.nothing_yet": {
        "nl": "Er is nog niets verschuldigd en nog niets vastgelegd (geen termijn, mijlpaal, actie of "
        "nakoming).",
        "en": "Nothing is due and nothing is recorded yet (no deadline, milestone, action or fulfilment).",
    },
    "none.nothing_recorded": {
        "nl": "Er is nog geen voortgang vastgelegd (geen mijlpaal, actie of nakoming).",
        "en": "No progress is recorded yet (no milestone, action or fulfilment).",
    },
    # Recommendations (roll-up of their commitments and actions)
    "recommendation.commitments": {
        "nl": "{count} gekoppelde toezegging(en): {statuses}.",
        "en": "{count} linked commitment(s): {statuses}.",
    },
    "recommendation.actions": {
        "nl": "{count} eigen actie(s): {states}.",
        "en": "{count} action(s) of its own: {states}.",
    },
    "recommendation.nothing": {
        "nl": "Nog geen toezegging of actie gekoppeld aan deze aanbeveling.",
        "en": "No commitment or action is linked to this recommendation yet.",
    },
    # Words used inside other messages
    "count.item": {"nl": "{n} {what}", "en": "{n} {what}"},
    "status.open": {"nl": "open", "en": "open"},
    "status.on_track": {"nl": "op koers", "en": "on track"},
    "status.at_risk": {"nl": "risico", "en": "at risk"},
    "status.off_track": {"nl": "uit koers", "en": "off track"},
    "status.fulfilled": {"nl": "nagekomen", "en": "fulfilled"},
    "status.partially_fulfilled": {"nl": "deels nagekomen", "en": "partially fulfilled"},
    "status.lapsed": {"nl": "vervallen", "en": "lapsed"},
    "status.unknown": {"nl": "onbekend", "en": "unknown"},
    "state.done": {"nl": "afgerond", "en": "done"},
    "state.blocked": {"nl": "geblokkeerd", "en": "blocked"},
    "state.cancelled": {"nl": "vervallen", "en": "cancelled"},
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Params that name another catalogue entry ("@state.planned") are rendered in the same language.
_REF = "@"


def language(accept_language: str | None) -> str:
    """The first supported language of an Accept-Language header (q-values honoured), else Dutch."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


@lru_cache(maxsize=8192)  # a full run writes the same few thousand dates again and again
def format_date(iso: str, lang: str) -> str:
    year, month, day = iso.split("-")
    return f"{int(day)} {_MONTHS[lang][int(month) - 1]} {year}"


def _value(value: Any, lang: str) -> Any:
    # A full run renders about a million params: exact type checks first, the date pattern only on 10 characters.
    kind = type(value)
    if kind is str:
        if len(value) == 10 and value[4] == "-" and _ISO_DATE.match(value):
            return format_date(value, lang)
        # A reference to a catalogue entry (ref()); other text that merely starts with "@" (a title, a TK text)
        # is shown as it is.
        if value[:1] == _REF and value[1:] in CATALOGUE:
            return text(value[1:], lang)
        return value
    if kind is dict and "code" in value:  # a nested message: {"code": ..., "params": {...}}
        return render(value["code"], value.get("params") or {}, lang)
    if kind is list:
        return ", ".join(str(_value(item, lang)) for item in value)
    return value


def text(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    entry = CATALOGUE[code]
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


def render(code: str, params: Mapping[str, Any], lang: str = DEFAULT_LANGUAGE) -> str:
    return text(code, lang).format_map({key: _value(value, lang) for key, value in params.items()})


def ref(code: str) -> str:
    """A param that renders as another catalogue entry in the reader's language."""
    if code not in CATALOGUE:
        raise KeyError(code)
    return _REF + code


def nested(code: str, **params: Any) -> dict[str, Any]:
    """A param that renders as a whole message of its own (optional clauses such as ' by letter X')."""
    if code not in CATALOGUE:
        raise KeyError(code)
    return {"code": code, "params": params}


def localise_one(reason: Mapping[str, Any], lang: str | None = None) -> Mapping[str, Any]:
    """A stored reason (Dutch) with its message in `lang` (default: the reader's); reasons stored before codes
    existed stay as they are."""
    lang = lang or reader_language.get()
    if lang == DEFAULT_LANGUAGE or reason.get("code") not in CATALOGUE:
        return reason
    return {**reason, "message": render(reason["code"], reason.get("params") or {}, lang)}


def localise(reasons: Iterable[Mapping[str, Any]] | None, lang: str | None = None) -> list[Mapping[str, Any]]:
    return [localise_one(reason, lang) for reason in reasons or ()]
