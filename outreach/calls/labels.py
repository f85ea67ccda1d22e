"""The French labels of what the calls record, each written once (pages, forms, alerts)."""

from __future__ import annotations

from outreach.calls.outcomes import DISPOSITION_LABELS
from outreach.calls.outcomes import LABELS as OUTCOME_LABELS

ALL: dict[str, dict[str, str]] = {
    "disposition": {d.value: text for d, text in DISPOSITION_LABELS.items()},
    "outcome": {o.value: text for o, text in OUTCOME_LABELS.items()},
    "signal": {
        "isolation": "Isolement, solitude",
        "health_worsening": "Santé qui se dégrade",
        "fall": "Chute",
        "heat_distress": "Souffre de la chaleur",
        "not_eating_drinking": "Ne mange ou ne boit pas assez",
        "memory_confusion": "Mémoire, confusion",
        "mobility": "Difficultés à se déplacer",
        "housing_adaptation": "Logement à adapter",
        "financial": "Difficultés financières",
        "bereavement": "Deuil",
        "other": "Autre",
    },
    "severity": {"info": "Pour information", "concern": "À surveiller", "urgent": "Urgent"},
    "channel": {"staff": "Appel", "ivr": "Appel automatique", "sms": "SMS envoyé"},
    # What the gateway said of an automated call or SMS.
    "gateway": {
        "dispatching": "en cours d'envoi",
        "queued": "en file chez l'opérateur",
        "initiated": "composé",
        "ringing": "sonne",
        "in-progress": "en ligne",
        "completed": "terminé",
        "busy": "occupé",
        "no-answer": "pas de réponse",
        "failed": "échec",
        "canceled": "annulé",
        "sent": "envoyé",
        "delivered": "reçu",
        "undelivered": "non distribué",
        "unknown": "envoi interrompu, à vérifier",
        "not_sent": "non envoyé",
        "received": "reçu",
    },
    "digits": {
        "1": "a appuyé sur 1 : tout va bien",
        "2": "a appuyé sur 2 : souhaite être rappelé(e)",
        "3": "a appuyé sur 3 : demande de l'aide",
    },
    # The keys of a call to her emergency contact (telephony.contacts): not hers.
    "contact_digits": {
        "1": "son proche a appuyé sur 1 : a eu de ses nouvelles",
        "2": "son proche a appuyé sur 2 : inquiet",
    },
    "task": {
        "pending": "à faire",
        "queued": "envoyé",
        "claimed": "en cours",
        "done": "fait",
        "failed": "sans réponse",
        "cancelled": "annulé",
        "escalated": "transmis",
    },
    "skip": {
        "no_consent": "pas de consentement",
        "opted_out": "opposé(e) à ce canal",
        "no_phone": "pas de numéro valide",
        "paused": "en pause, absent(e)",
        "left": "ne fait plus partie du suivi",
        "not_calling_day": "pas un jour d'appel",
        "not_due": "pas encore dû(e)",
        "already_contacted": "déjà contacté(e) aujourd'hui",
    },
}
