"""The pre-season check: exact counts and lists on a hand-built roster, only the canicule
list counted, and only the numbers that failed in the 12 months before the day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outreach.calls.models import Attempt, AttemptChannel, Outcome
from outreach.readiness.check import Problem, check
from outreach.roster.models import Senior
from tests.readiness.conftest import RECENT, TODAY, attempt


def _names(result, problem):
    return [e.reference for e in result.seniors(problem)]


def test_each_problem_counts_its_senior_and_only_hers(session, roster):
    r = roster
    result = check(session, [r.org.id], TODAY)
    assert result.on_list == 6  # five followed seniors and Dupuis; not Garnier nor Henry
    assert result.counts == {
        Problem.no_valid_number: 1,
        Problem.no_consent: 1,
        Problem.no_emergency_contact: 1,
        Problem.no_referent: 1,
        Problem.failed_numbers: 1,
    }
    assert _names(result, Problem.no_valid_number) == [r.no_number.external_ref]
    assert _names(result, Problem.no_consent) == [r.no_consent.external_ref]
    assert _names(result, Problem.no_emergency_contact) == [r.no_contact.external_ref]
    assert _names(result, Problem.no_referent) == [r.no_referent.external_ref]
    assert _names(result, Problem.failed_numbers) == [r.failed.external_ref]
    # Sorted by name; the fine senior and those off the list are in no list at all.
    refs = [e.reference for e in result.entries]
    assert refs == [s.external_ref for s in (r.no_number, r.no_consent, r.no_contact,
                                             r.no_referent, r.failed)]  # fmt: skip
    assert not result.complete
    failed = result.seniors(Problem.failed_numbers)[0]
    assert failed.problems == {
        Problem.failed_numbers: "06 12 34 56 78 : opérateur : non distribué le 10/03/2027"
    }
    assert result.seniors(Problem.no_valid_number)[0].problems[Problem.no_valid_number] == (
        "aucun numéro"
    )
    assert failed.contacts == ["Luc Proche (fils) 06 11 22 33 44"]


def test_an_association_sees_its_members_and_an_empty_list_is_complete(session, roster):
    both = check(session, [roster.org.id, roster.other.id], TODAY)
    assert both.on_list == 7
    assert roster.foreign.external_ref in _names(both, Problem.no_emergency_contact)
    empty = check(session, [], TODAY)
    assert empty.complete and empty.on_list == 0


def test_the_one_eligibility_rule_decides_consent(session, roster):
    r = roster
    r.fine.consent_phone = False
    r.failed.opted_out_sms_at = RECENT
    r.no_referent.opted_out_phone_at = RECENT
    session.commit()
    result = check(session, [r.org.id], TODAY)
    details = {e.reference: e.problems[Problem.no_consent]
               for e in result.seniors(Problem.no_consent)}  # fmt: skip
    assert details == {
        r.fine.external_ref: "pas de consentement aux appels",
        r.no_consent.external_ref: "pas de consentement",
        r.failed.external_ref: "opposé(e) aux SMS",
        r.no_referent.external_ref: "opposé(e) aux appels",
    }


def test_a_deactivated_referent_and_a_contact_without_phone_are_missing(session, roster):
    r = roster
    r.referent.active = False
    r.fine.emergency_contacts[0].phone = None
    session.commit()
    result = check(session, [r.org.id], TODAY)
    assert len(result.seniors(Problem.no_referent)) == 6
    entry = next(e for e in result.entries if e.senior_id == r.fine.id)
    assert entry.problems[Problem.no_referent] == "référent(e) au compte désactivé"
    assert entry.problems[Problem.no_emergency_contact] == "contact d'urgence sans téléphone"


def test_failed_numbers_within_the_twelve_months_only(session, roster):
    r = roster
    for senior, at in (
        (r.fine, datetime(2026, 5, 14, 21, 59, tzinfo=UTC)),  # 14/05/2026 23:59 in Paris
        (r.no_referent, datetime(2026, 5, 14, 22, 0, tzinfo=UTC)),  # 15/05/2026 00:00
        (r.no_consent, datetime(2027, 5, 15, 21, 59, tzinfo=UTC)),  # the day itself, late
        (r.no_contact, datetime(2027, 5, 15, 22, 0, tzinfo=UTC)),  # the next day in Paris
    ):
        attempt(session, senior, at, AttemptChannel.staff, outcome=Outcome.wrong_number)
    session.commit()
    result = check(session, [r.org.id], TODAY)
    assert sorted(_names(result, Problem.failed_numbers)) == sorted(
        s.external_ref for s in (r.no_referent, r.no_consent, r.failed)
    )


def test_what_is_not_a_failed_number(session, roster):
    r = roster
    # A STOP reported by the gateway is an opt-out, not a bad number.
    attempt(session, r.fine, RECENT, gateway_status="not_sent", error_code=21610)
    # An SMS delivered and answered after the failure: the mobile works.
    attempt(session, r.failed, datetime(2027, 4, 1, 9, tzinfo=UTC), outcome=Outcome.reached_ok,
            gateway_status="delivered")  # fmt: skip
    session.commit()
    result = check(session, [r.org.id], TODAY)
    assert result.counts[Problem.failed_numbers] == 0


def test_only_failed_numbers_leave_no_valid_number(session, roster):
    r = roster
    # A wrong number on the phone of a senior with one number: nothing valid is left.
    attempt(session, r.no_referent, RECENT, AttemptChannel.ivr, gateway_status="failed")
    session.commit()
    result = check(session, [r.org.id], TODAY)
    entry = next(e for e in result.entries if e.senior_id == r.no_referent.id)
    assert entry.problems[Problem.no_valid_number] == "numéro en échec"
    assert entry.problems[Problem.failed_numbers].startswith("06 12 34 56 78 : opérateur : échec")


@pytest.mark.skipif(not hasattr(Attempt, "phone"), reason="Attempt.phone comes with number cycling")
def test_the_number_an_attempt_dialled_is_the_one_flagged(session, roster):
    r = roster
    attempt(session, r.fine, RECENT, AttemptChannel.staff, outcome=Outcome.wrong_number,
            phone="+33247000001")  # fmt: skip
    # A number she no longer has is not hers to check.
    attempt(session, r.fine, RECENT, AttemptChannel.ivr, gateway_status="failed",
            phone="+33247999999")  # fmt: skip
    session.commit()
    entry = next(e for e in check(session, [r.org.id], TODAY).entries if e.senior_id == r.fine.id)
    assert [f.number for f in entry.failed] == ["+33247000001"]
    assert Problem.no_valid_number not in entry.problems


@pytest.mark.skipif(not hasattr(Attempt, "contact_id"), reason="calls to contacts come later")
def test_a_call_to_her_emergency_contact_says_nothing_of_her_numbers(session, roster):
    r = roster
    attempt(session, r.fine, RECENT, AttemptChannel.ivr, outcome=Outcome.wrong_number,
            contact_id=r.fine.emergency_contacts[0].id)  # fmt: skip
    session.commit()
    assert check(session, [r.org.id], TODAY).counts[Problem.failed_numbers] == 1  # Fabre only


def test_a_senior_on_the_list_by_age_or_living_alone(session, roster):
    r = roster
    session.get(Senior, r.outside.id).lives_alone = True
    session.commit()
    result = check(session, [r.org.id], TODAY)
    assert result.on_list == 7
    assert r.outside.external_ref in _names(result, Problem.no_valid_number)
