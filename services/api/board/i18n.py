"""The board's own words in Dutch (default) and English. Reasons come from the API already in the reader's
language (shared/status/messages.py); dates are written with that catalogue's `format_date`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.status.messages import CATALOGUE, DEFAULT_LANGUAGE, LANGUAGES, format_date, text

# Worst first: the order of the overview's list and of its counts.
STATUS_ORDER = (
    "off_track",
    "at_risk",
    "lapsed",
    "partially_fulfilled",
    "unknown",
    "open",
    "on_track",
    "fulfilled",
)
SCHEDULE_ORDER = ("overdue", "due_soon", "on_time", "no_deadline")
MILESTONE_ORDER = ("missed", "at_risk", "pending", "on_track", "met")

# An icon beside every status word: colour is never the only carrier. Icons are aria-hidden; the word is read.
ICONS = {
    "off_track": "✖",
    "at_risk": "⚠",
    "lapsed": "⊘",
    "partially_fulfilled": "◐",
    "unknown": "?",
    "open": "○",
    "on_track": "➜",
    "fulfilled": "✔",
    "overdue": "!",
    "due_soon": "◔",
    "on_time": "✓",
    "no_deadline": "–",
    "missed": "✖",
    "pending": "○",
    "met": "✔",
}


def _shared_words() -> dict[str, dict[str, str]]:
    """Status and action-state words come from the status engine's catalogue: one vocabulary for the explanations
    and the board (a status is a label here, so it starts with a capital)."""
    words = {}
    for code in CATALOGUE:
        if code.startswith("status."):
            words[code] = {lang: text(code, lang)[:1].upper() + text(code, lang)[1:] for lang in LANGUAGES}
        elif code.startswith("state."):
            words[code] = {lang: text(code, lang) for lang in LANGUAGES}
    return words


WORDS: dict[str, dict[str, str]] = {
    **_shared_words(),
    "schedule.overdue": {"nl": "Verlopen", "en": "Overdue"},
    "schedule.due_soon": {"nl": "Binnenkort", "en": "Due soon"},
    "schedule.on_time": {"nl": "Op tijd", "en": "On time"},
    "schedule.no_deadline": {"nl": "Geen einddatum", "en": "No deadline"},
    "milestone.missed": {"nl": "Gemist", "en": "Missed"},
    "milestone.at_risk": {"nl": "Risico", "en": "At risk"},
    "milestone.pending": {"nl": "Nog niet te beoordelen", "en": "Pending"},
    "milestone.on_track": {"nl": "Op koers", "en": "On track"},
    "milestone.met": {"nl": "Gehaald", "en": "Met"},
    "severity.critical": {"nl": "kritiek", "en": "critical"},
    "severity.warning": {"nl": "waarschuwing", "en": "warning"},
    "severity.progress": {"nl": "voortgang", "en": "progress"},
    "severity.info": {"nl": "informatie", "en": "information"},
    "severity.authoritative": {"nl": "vastgesteld", "en": "authoritative"},
    "severity.override": {"nl": "handmatig", "en": "manual"},
    "site": {"nl": "Nakoming", "en": "Nakoming"},
    "tagline": {"nl": "Worden beloften in de zorg nagekomen?", "en": "Are care-policy promises kept?"},
    "nav": {"nl": "Hoofdmenu", "en": "Main menu"},
    "nav.overview": {"nl": "Overzicht", "en": "Overview"},
    "nav.programmes": {"nl": "Programma's", "en": "Programmes"},
    "nav.signals": {"nl": "Signalen", "en": "Signals"},
    "nav.tk": {"nl": "Tweede Kamer", "en": "House of Representatives"},
    "skip": {"nl": "Naar de inhoud", "en": "Skip to content"},
    "other_language": {"nl": "English", "en": "Nederlands"},
    "other_language.name": {"nl": "Read this page in English", "en": "Lees deze pagina in het Nederlands"},
    "overview.title": {"nl": "Overzicht van toezeggingen", "en": "Overview of commitments"},
    "overview.filters": {"nl": "Filters", "en": "Filters"},
    "overview.by_status": {"nl": "Aantal per status", "en": "Count per status"},
    "overview.by_schedule": {"nl": "Aantal per termijn", "en": "Count per schedule"},
    "overview.list": {"nl": "Toezeggingen, slechtste eerst", "en": "Commitments, worst first"},
    "overview.total": {"nl": "{n} toezeggingen", "en": "{n} commitments"},
    "overview.none": {
        "nl": "Geen toezeggingen met deze filters.",
        "en": "No commitments match these filters.",
    },
    "overview.next": {"nl": "Volgende toezeggingen", "en": "Next commitments"},
    "overview.first": {"nl": "Terug naar het begin", "en": "Back to the start"},
    "filter.theme": {"nl": "Thema", "en": "Theme"},
    "filter.owner": {"nl": "Eigenaar", "en": "Owner"},
    "filter.source": {"nl": "Brondocument", "en": "Source document"},
    "filter.status": {"nl": "Status", "en": "Status"},
    "filter.schedule": {"nl": "Termijn", "en": "Schedule"},
    "filter.due_after": {"nl": "Einddatum vanaf", "en": "Due on or after"},
    "filter.due_before": {"nl": "Einddatum tot en met", "en": "Due on or before"},
    "filter.any": {"nl": "Alle", "en": "All"},
    "filter.apply": {"nl": "Toon", "en": "Show"},
    "filter.reset": {"nl": "Filters wissen", "en": "Clear filters"},
    "filter.invalid": {"nl": "Een filter is ongeldig: {fields}.", "en": "A filter is not valid: {fields}."},
    "count": {"nl": "Aantal", "en": "Count"},
    "due": {"nl": "Einddatum", "en": "Due"},
    "no_due": {"nl": "geen einddatum", "en": "no due date"},
    "owner": {"nl": "Eigenaar", "en": "Owner"},
    "made_to": {"nl": "Gedaan aan", "en": "Made to"},
    "unknown_party": {"nl": "onbekend", "en": "unknown"},
    "themes": {"nl": "Thema's", "en": "Themes"},
    "first_reason": {"nl": "Belangrijkste reden", "en": "Main reason"},
    "commitment": {"nl": "Toezegging", "en": "Commitment"},
    "status_and_schedule": {"nl": "Status en termijn", "en": "Status and schedule"},
    "tk_status": {"nl": "Status bij de Tweede Kamer", "en": "Status at the House"},
    "reasons": {"nl": "Redenen", "en": "Reasons"},
    "evidence": {"nl": "Bewijs", "en": "Evidence"},
    "evaluated": {
        "nl": "Beoordeeld op {date} (regels {version}).",
        "en": "Evaluated on {date} (rules {version}).",
    },
    "not_evaluated": {"nl": "Nog niet beoordeeld.", "en": "Not evaluated yet."},
    "source": {"nl": "Bron", "en": "Source"},
    "section": {"nl": "Onderdeel", "en": "Section"},
    "no_source": {"nl": "Geen brondocument vastgelegd.", "en": "No source document recorded."},
    "history": {"nl": "Statusgeschiedenis", "en": "Status history"},
    "history.none": {"nl": "Nog geen geschiedenis.", "en": "No history yet."},
    "milestones": {"nl": "Mijlpalen", "en": "Milestones"},
    "milestones.none": {"nl": "Geen mijlpalen.", "en": "No milestones."},
    "actions": {"nl": "Acties", "en": "Actions"},
    "actions.none": {"nl": "Geen acties.", "en": "No actions."},
    "fulfilments": {"nl": "Nakomingsverslagen", "en": "Fulfilment records"},
    "fulfilments.none": {"nl": "Geen nakomingsverslagen.", "en": "No fulfilment records."},
    "review.none": {"nl": "nog niet beoordeeld", "en": "not reviewed yet"},
    "review.accepted": {"nl": "geaccepteerd", "en": "accepted"},
    "review.rejected": {"nl": "afgewezen", "en": "rejected"},
    "kind.fulfilled": {"nl": "nagekomen", "en": "fulfilled"},
    "kind.partially_fulfilled": {"nl": "deels nagekomen", "en": "partially fulfilled"},
    "last_update": {"nl": "laatste update {date}", "en": "last update {date}"},
    "milestone": {"nl": "Mijlpaal", "en": "Milestone"},
    "target": {"nl": "Doel", "en": "Target"},
    "baseline": {"nl": "Uitgangswaarde", "en": "Baseline"},
    "measurements": {"nl": "Metingen", "en": "Measurements"},
    "measurements.none": {"nl": "Nog geen metingen.", "en": "No measurements yet."},
    "date": {"nl": "Datum", "en": "Date"},
    "value": {"nl": "Waarde", "en": "Value"},
    "note": {"nl": "Toelichting", "en": "Note"},
    "reached_on": {"nl": "Gehaald op {date}.", "en": "Reached on {date}."},
    "part_of": {"nl": "Onderdeel van", "en": "Part of"},
    "action": {"nl": "Actie", "en": "Action"},
    "chart.title": {"nl": "Verloop van '{title}'", "en": "Progress of '{title}'"},
    "chart.desc": {
        "nl": "{n} metingen in {unit}; doel {target} op {due}.{baseline}{latest}{trend}",
        "en": "{n} measurements in {unit}; target {target} by {due}.{baseline}{latest}{trend}",
    },
    "chart.desc.baseline": {"nl": " Uitgangswaarde {value} op {date}.", "en": " Baseline {value} on {date}."},
    "chart.desc.latest": {
        "nl": " Laatste meting {value} op {date}.",
        "en": " Latest measurement {value} on {date}.",
    },
    "chart.desc.trend": {
        "nl": " De trend komt op de einddatum uit op {value}.",
        "en": " The trend reaches {value} by the due date.",
    },
    "chart.plan": {"nl": "Lijn van uitgangswaarde naar doel", "en": "Line from baseline to target"},
    "chart.trend": {
        "nl": "Trend (kleinste kwadraten) tot de einddatum",
        "en": "Trend (least squares) to the due date",
    },
    "chart.target": {"nl": "Doel {value} op {date}", "en": "Target {value} by {date}"},
    "chart.today": {"nl": "vandaag", "en": "today"},
    "chart.due": {"nl": "einddatum", "en": "due"},
    "chart.legend": {"nl": "Legenda", "en": "Legend"},
    "chart.legend.measurement": {"nl": "meting (bolletje)", "en": "measurement (dot)"},
    "chart.legend.plan": {"nl": "lijn naar het doel (streepjes)", "en": "line to the target (dashes)"},
    "chart.legend.trend": {"nl": "trend (stippels)", "en": "trend (dots)"},
    "chart.legend.target": {"nl": "doel (ruit)", "en": "target (diamond)"},
    "chart.legend.markers": {
        "nl": "vandaag en einddatum (verticale lijnen)",
        "en": "today and the due date (vertical lines)",
    },
    "programmes.title": {"nl": "Programma's en hun mijlpalen", "en": "Programmes and their milestones"},
    "programmes.intro": {
        "nl": "Een programma is een brondocument met de mijlpalen die eruit komen.",
        "en": "A programme is a source document with the milestones taken from it.",
    },
    "programme.milestones": {"nl": "{n} mijlpalen", "en": "{n} milestones"},
    "programme.none": {
        "nl": "Dit brondocument heeft geen mijlpalen.",
        "en": "This source document has no milestones.",
    },
    "signals.title": {"nl": "Trend van cliëntsignalen", "en": "Trend of client signals"},
    "signals.provider": {"nl": "Aanbieder", "en": "Provider"},
    "signals.all": {"nl": "alle signalen", "en": "all signals"},
    "signals.chart": {"nl": "Signalen per maand: {what}", "en": "Signals per month: {what}"},
    "signals.desc": {
        "nl": "{n} maanden; maanden met minder dan {min} signalen worden niet als getal getoond.",
        "en": "{n} months; months with fewer than {min} signals are not shown as a number.",
    },
    "signals.period": {"nl": "Maand", "en": "Month"},
    "signals.count": {"nl": "Signalen", "en": "Signals"},
    "signals.suppressed": {"nl": "minder dan {min} (afgeschermd)", "en": "fewer than {min} (suppressed)"},
    "signals.verdict": {"nl": "Oordeel van de stijgingstoets", "en": "Verdict of the rise test"},
    "signals.rise": {
        "nl": "De laatste maand laat een significante stijging zien: meer signalen dan de {expected} die "
        "bij het "
        "gewone tempo horen (p = {p}).",
        "en": "The last month shows a significant rise: more signals than the {expected} expected at the "
        "usual "
        "rate (p = {p}).",
    },
    "signals.no_rise": {
        "nl": "Geen significante stijging in de laatste maand (verwacht bij het gewone tempo: {expected}; "
        "p = {p}).",
        "en": "No significant rise in the last month (expected at the usual rate: {expected}; p = {p}).",
    },
    "signals.withheld_bar": {"nl": "afgeschermd", "en": "withheld"},
    "signals.withheld": {
        "nl": "De stijgingstoets wordt niet getoond: een maand waarop hij rust is afgeschermd (privacy).",
        "en": "The rise test is not shown: a month it relies on is withheld (privacy).",
    },
    "signals.untestable": {
        "nl": "Te weinig signalen in de laatste maand om een stijging te toetsen.",
        "en": "Too few signals in the last month to test for a rise.",
    },
    "tk.title": {
        "nl": "Toezeggingen aan de Tweede Kamer",
        "en": "Commitments to the House of Representatives",
    },
    "tk.followed": {"nl": "Gevolgde toezeggingen", "en": "Followed toezeggingen"},
    "tk.followed.none": {
        "nl": "Nakoming volgt nog geen toezeggingen uit de spiegel.",
        "en": "Nakoming does not follow any toezegging from the mirror yet.",
    },
    "tk.suggestions": {"nl": "Suggesties, nog niet gekoppeld", "en": "Suggestions, not linked yet"},
    "tk.suggestions.none": {"nl": "Geen suggesties.", "en": "No suggestions."},
    "tk.number": {"nl": "Nummer", "en": "Number"},
    "tk.text": {"nl": "Tekst", "en": "Text"},
    "tk.due": {"nl": "Datum nakoming", "en": "Fulfilment date"},
    "tk.letter": {"nl": "Brief", "en": "Letter"},
    "tk.no_letter": {"nl": "geen brief", "en": "no letter"},
    "tk.followed_by": {"nl": "Gevolgd door", "en": "Followed by"},
    "tk.matched": {"nl": "Gevonden op", "en": "Matched on"},
    "tk.minister": {"nl": "Bewindspersoon", "en": "Minister"},
    "key.title": {"nl": "Sleutel nodig", "en": "Key needed"},
    "key.intro": {
        "nl": "Deze gegevens zijn niet openbaar. Vul een API-sleutel met leesrecht in.",
        "en": "This data is not public. Enter an API key with read access.",
    },
    "key.invalid": {"nl": "Deze sleutel geeft geen leesrecht.", "en": "This key does not give read access."},
    "key.label": {"nl": "API-sleutel", "en": "API key"},
    "key.submit": {"nl": "Doorgaan", "en": "Continue"},
    "key.forget": {"nl": "Sleutel vergeten", "en": "Forget key"},
    "notfound.title": {"nl": "Niet gevonden", "en": "Not found"},
    "notfound.text": {"nl": "Deze pagina bestaat niet (meer).", "en": "This page does not exist (any more)."},
    "api_link": {"nl": "als JSON", "en": "as JSON"},
    "back_overview": {"nl": "Terug naar het overzicht", "en": "Back to the overview"},
    "back_commitment": {"nl": "Terug naar de toezegging", "en": "Back to the commitment"},
    "ev.milestone": {"nl": "Mijlpaal", "en": "Milestone"},
    "ev.measurement": {"nl": "Meting", "en": "Measurement"},
    "ev.action": {"nl": "Actie", "en": "Action"},
    "ev.fulfilment": {"nl": "Nakomingsverslag", "en": "Fulfilment record"},
    "ev.tk_toezegging": {"nl": "Toezegging Tweede Kamer", "en": "Toezegging (House)"},
    "ev.tk_document": {"nl": "Kamerbrief", "en": "Letter to the House"},
    "ev.due_date": {"nl": "Einddatum", "en": "Due date"},
    "ev.period": {"nl": "Periode", "en": "Period"},
    "ev.signal_counts": {"nl": "Signalen", "en": "Signals"},
    "ev.override": {"nl": "Handmatige status", "en": "Manual status"},
    "ev.commitment": {"nl": "Toezegging", "en": "Commitment"},
    "footer": {"nl": "Gegevens uit de openbare Nakoming-API.", "en": "Data from the public Nakoming API."},
}


def pick(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


class Words:
    """`t("key", n=3)` in the page's language; also dates and status labels for the templates."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        entry = WORDS[key]
        text = entry.get(self.lang) or entry[DEFAULT_LANGUAGE]
        return text.format(**params) if params else text

    def date(self, value: str | dt.date | None) -> str:
        if value is None:
            return ""
        iso = value.isoformat() if isinstance(value, dt.date) else str(value)[:10]
        return format_date(iso, self.lang)

    def number(self, value: float | int | None) -> str:
        if value is None:
            return ""
        text = str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
        return text.replace(".", ",") if self.lang == "nl" else text
