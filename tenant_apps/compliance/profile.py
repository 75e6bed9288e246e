"""What a client's profile must hold: required fields per action (the legal entity's rules decide), and the
appropriateness question set of each jurisdiction preset with its pass mark."""
from __future__ import annotations

from dataclasses import dataclass

PROFILE_FIELDS: dict[str, str] = {
    "full_name": "Full name",
    "date_of_birth": "Date of birth",
    "address_line": "Address",
    "city": "City",
    "postcode": "Postcode",
    "country": "Country of residence",
    "nationality": "Nationality",
    "tax_residence": "Tax residence",
    "employment_status": "Employment status",
    "source_of_funds": "Source of funds",
    "expected_deposit": "Expected deposit",
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
    Question("leverage_loss", "With leverage of 1:30, a 1% price move against your position changes your margin by…",
             (("1", "about 1%"), ("30", "about 30%"), ("0", "nothing, leverage only affects profits")), "30"),
    Question("stop_out", "What happens when your margin level falls below the stop-out level?",
             (("close", "Positions are closed automatically"), ("nothing", "Nothing until I act"),
              ("bonus", "The broker adds funds")), "close"),
    Question("experience", "Have you traded CFDs, forex or other leveraged products in the last 3 years?",
             (("frequent", "Yes, more than 10 times"), ("some", "Yes, a few times"), ("never", "Never")), "frequent"),
    Question("loss_capacity", "Can you lose more than you deposit with negative balance protection?",
             (("no", "No, my losses are limited to my deposit"), ("yes", "Yes, without limit")), "no"),
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
