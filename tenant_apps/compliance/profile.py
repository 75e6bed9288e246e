"""What a client's profile must hold: required fields per action (the legal entity's rules decide), and the
appropriateness question set of each jurisdiction preset with its pass mark."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

PROFILE_FIELDS: dict[str, str] = {
    "full_name": _("Full name"),
    "date_of_birth": _("Date of birth"),
    "address_line": _("Address"),
    "city": _("City"),
    "postcode": _("Postcode"),
    "country": _("Country of residence"),
    "nationality": _("Nationality"),
    "tax_residence": _("Tax residence"),
    "employment_status": _("Employment status"),
    "source_of_funds": _("Source of funds"),
    "expected_deposit": _("Expected deposit"),
}
APPROPRIATENESS = "appropriateness"
# The actions a profile gate applies to, in the order a client meets them.
ACTIONS_IN_ORDER = ("first_deposit", "first_withdrawal")


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    options: tuple[tuple[str, str], ...]
    correct: str


_LEVERAGE_QUESTIONS = (
    Question("leverage_loss", _("With leverage of 1:30, a 1% price move against your position changes your margin by…"),
             (("1", _("about 1%")), ("30", _("about 30%")), ("0", _("nothing, leverage only affects profits"))), "30"),
    Question("stop_out", _("What happens when your margin level falls below the stop-out level?"),
             (("close", _("Positions are closed automatically")), ("nothing", _("Nothing until I act")),
              ("bonus", _("The broker adds funds"))), "close"),
    Question("experience", _("Have you traded CFDs, forex or other leveraged products in the last 3 years?"),
             (("frequent", _("Yes, more than 10 times")), ("some", _("Yes, a few times")), ("never", _("Never"))), "frequent"),
    Question("loss_capacity", _("Can you lose more than you deposit with negative balance protection?"),
             (("no", _("No, my losses are limited to my deposit")), ("yes", _("Yes, without limit"))), "no"),
)
# Question set per jurisdiction preset code; presets without appropriateness_test have none.
QUESTION_SETS: dict[str, tuple[Question, ...]] = {"cysec": _LEVERAGE_QUESTIONS, "fca": _LEVERAGE_QUESTIONS,
                                                  "asic": _LEVERAGE_QUESTIONS}
PASS_MARK = 3  # correct answers out of 4


def questions_for(jurisdiction: str) -> tuple[Question, ...]:
    return QUESTION_SETS.get(jurisdiction, _LEVERAGE_QUESTIONS)


def appropriateness_score(jurisdiction: str, answers: dict) -> tuple[int, bool]:
    questions = questions_for(jurisdiction)
    score = sum(1 for q in questions if answers.get(q.code) == q.correct)
    return score, score >= min(PASS_MARK, len(questions))
