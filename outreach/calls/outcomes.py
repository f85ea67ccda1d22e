"""What a contact established: one enumeration for every channel, page, counter and report.

DESIGN.md ("What a contact established") is the table this module implements. Staff
dispositions, IVR keys and SMS words all map here, so that a request for help can never be
shown or counted as "tout va bien", whichever way it came in. Each outcome has one French
label, written here and nowhere else.
"""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    reached_ok = "reached_ok"
    reached_concern = "reached_concern"
    reached_later = "reached_later"
    callback_requested = "callback_requested"
    help_requested = "help_requested"
    reply_to_read = "reply_to_read"
    unreached = "unreached"
    wrong_number = "wrong_number"
    refused = "refused"
    absent = "absent"
    deceased = "deceased"
    # Her emergency contact had news of her today (pressed 1, replied OUI): the day is
    # settled, but she was not reached herself, so it is not in REACHED.
    reached_through_contact = "reached_through_contact"


LABELS: dict[Outcome, str] = {
    Outcome.reached_ok: "Joint(e), tout va bien",
    Outcome.reached_concern: "Joint(e), une inquiétude",
    Outcome.reached_later: "Joint(e), rappeler plus tard",
    Outcome.callback_requested: "Demande à être rappelé(e)",
    Outcome.help_requested: "Demande de l'aide",
    Outcome.reply_to_read: "SMS à lire",
    Outcome.unreached: "Pas joint(e)",
    Outcome.wrong_number: "Mauvais numéro",
    Outcome.refused: "Ne souhaite plus être appelé(e)",
    Outcome.absent: "Absent(e) (hôpital, vacances)",
    Outcome.deceased: "Décédé(e)",
    Outcome.reached_through_contact: "Nouvelles par son proche",
}

# The senior herself answered.
REACHED = frozenset(
    {
        Outcome.reached_ok,
        Outcome.reached_concern,
        Outcome.reached_later,
        Outcome.callback_requested,
        Outcome.help_requested,
    }
)
# A person must act on it before the day is settled.
NEEDS_PERSON = frozenset(
    {Outcome.callback_requested, Outcome.help_requested, Outcome.reply_to_read}
)
# What settles the senior's other tasks of the day ("joint(e) par la campagne ...").
SETTLES_DAY = frozenset(
    {Outcome.reached_ok, Outcome.reached_concern, Outcome.refused, Outcome.deceased}
)
# Outcomes that never mean "all is well", whatever a counter is tempted to do with them.
NOT_OK = frozenset(Outcome) - {Outcome.reached_ok}


class Disposition(enum.StrEnum):
    """What a staff caller chose on the outcome form (or what a call reported): the
    detail behind an outcome, e.g. busy or voicemail behind ``unreached``."""

    reached_ok = "reached_ok"
    reached_concern = "reached_concern"
    reached_later = "reached_later"
    no_answer = "no_answer"
    busy = "busy"
    voicemail = "voicemail"
    wrong_number = "wrong_number"
    refused = "refused"
    absent = "absent"
    deceased = "deceased"


DISPOSITION_LABELS: dict[Disposition, str] = {
    Disposition.reached_ok: LABELS[Outcome.reached_ok],
    Disposition.reached_concern: LABELS[Outcome.reached_concern],
    Disposition.reached_later: LABELS[Outcome.reached_later],
    Disposition.no_answer: "Pas de réponse",
    Disposition.busy: "Occupé",
    Disposition.voicemail: "Messagerie",
    Disposition.wrong_number: LABELS[Outcome.wrong_number],
    Disposition.refused: LABELS[Outcome.refused],
    Disposition.absent: LABELS[Outcome.absent],
    Disposition.deceased: LABELS[Outcome.deceased],
}
# No contact: the task is retried by the campaign's policy.
RETRY_DISPOSITIONS = frozenset({Disposition.no_answer, Disposition.busy, Disposition.voicemail})


def of_disposition(disposition: Disposition | str) -> Outcome:
    """The outcome a disposition establishes."""
    d = Disposition(disposition)
    if d in RETRY_DISPOSITIONS:
        return Outcome.unreached
    return Outcome(d.value)


def label(outcome: Outcome | str | None) -> str:
    """The French label of an outcome ("" for none)."""
    if outcome is None:
        return ""
    try:
        return LABELS[Outcome(outcome)]
    except ValueError:
        return str(outcome)


def is_reached(outcome: Outcome | str | None) -> bool:
    return outcome is not None and outcome in REACHED
