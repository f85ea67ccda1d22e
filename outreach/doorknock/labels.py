"""The French words of door-knocks, each written once (pages, alert events, messages)."""

from __future__ import annotations

from outreach.doorknock.models import KnockOutcome, KnockState

OUTCOME_LABELS: dict[KnockOutcome, str] = {
    KnockOutcome.seen_well: "Vu(e), va bien",
    KnockOutcome.seen_unwell: "Vu(e), ne va pas bien",
    KnockOutcome.no_answer: "Pas de réponse",
}
STATE_LABELS: dict[KnockState, str] = {
    KnockState.open: "À faire",
    KnockState.done: "Fait",
    KnockState.cancelled: "Annulé",
}
# The actions written on the alert's timeline (alert_event.action), and their labels.
EVENT_LABELS: dict[str, str] = {
    "knock_asked": "Passage à domicile demandé",
    "knock_seen_well": "Passage à domicile : vu(e), va bien",
    "knock_seen_unwell": "Passage à domicile : vu(e), ne va pas bien",
    "knock_no_answer": "Passage à domicile : pas de réponse",
    "knock_cancelled": "Passage à domicile annulé",
}
# What a canicule visit checks (DOMAIN.md, "What a canicule call checks").
CANICULE_CHECKS: tuple[str, ...] = (
    "Le logement est-il frais ? Volets fermés le jour, fenêtres ouvertes la nuit.",
    "La personne boit-elle assez d'eau ? Une bouteille à portée de main ?",
    "Mange-t-elle normalement ?",
    "Signes de coup de chaleur : grande fatigue, vertiges, maux de tête, crampes, nausées, "
    "propos confus ou inhabituels, fièvre au-dessus de 38 °C.",
    "Quelqu'un passe-t-il la voir (famille, voisins) ? A-t-elle besoin de quelque chose ?",
)
