"""Borrower reviews API: ``GET/POST /api/v1/loans/{loan_no}/reviews`` (thin; ``reviews`` decides).

The lending bank's staff read and record; regulators and administrators read; anyone else gets 404.
Amounts are decimal strings in yuan (stored as fen); the body's fields are parsed within the business
bounds after the permission check, so a stranger's malformed body answers 404, never 422.
"""

from __future__ import annotations

from ninja import Router, Schema

from ippledge.core.money import from_fen
from ippledge.credit.inputs import Day, Decimal_, Text, TextList, Whole, one_of

from . import reviews
from .models import BorrowerReview, Conclusion

router = Router(tags=["monitoring"])


class ReviewIn(Schema):
    period_end: Day = None
    revenue: Decimal_ = None
    profit: Decimal_ = None
    liabilities: Decimal_ = None
    staff: Whole = None
    overdue_events: TextList = []
    credit_events: TextList = []
    conclusion: one_of(*Conclusion.values) = None
    note: Text = ""


class FigureChange(Schema):
    before: str
    after: str
    change: str
    change_percent: str | None


class RightEvent(Schema):
    kind: str
    number: str
    type: str
    date: str
    seq: int
    official_code: str = ""


class ReviewOut(Schema):
    seq: int
    loan_no: str
    period_end: str
    reviewed_on: str
    revenue: str
    profit: str
    liabilities: str
    staff: int
    overdue_events: list[str]
    credit_events: list[str]
    conclusion: str
    note: str
    changes: dict[str, FigureChange]
    rights_events: list[RightEvent]
    classification_review_proposed: bool
    recorded_by: str | None
    recorded_at: str


class ReviewList(Schema):
    loan_no: str
    next_review_due: str | None
    results: list[ReviewOut]
    count: int


def _figure(name: str, value: dict) -> dict:
    unit = (lambda v: str(v)) if name == "staff" else (lambda v: str(from_fen(v)))
    return {"before": unit(value["before"]), "after": unit(value["after"]), "change": unit(value["change"]),
            "change_percent": value.get("change_percent")}


def review_out(review: BorrowerReview, loan_no: str) -> dict:
    changes = {k: _figure(k, v) for k, v in (review.changes or {}).items() if k in ("revenue", "profit",
                                                                                   "liabilities", "staff")}
    return {"seq": review.seq, "loan_no": loan_no, "period_end": review.period_end.isoformat(),
            "reviewed_on": review.reviewed_on.isoformat(), "revenue": str(from_fen(review.revenue)),
            "profit": str(from_fen(review.profit)), "liabilities": str(from_fen(review.liabilities)),
            "staff": review.staff, "overdue_events": review.overdue_events, "credit_events": review.credit_events,
            "conclusion": review.conclusion, "note": review.note, "changes": changes,
            "rights_events": review.rights_events,
            "classification_review_proposed": review.classification_review_proposed,
            "recorded_by": review.recorded_by.username if review.recorded_by_id else None,
            "recorded_at": review.recorded_at.isoformat()}


@router.get("/loans/{loan_no}/reviews", response=ReviewList,
            summary="The borrower reviews of a loan, newest first, with the changes the platform computed")
def list_reviews(request, loan_no: str):
    loan, rows = reviews.list_reviews(actor=request.auth, loan_no=loan_no)
    waiting = reviews.review_waiting(loan)
    return {"loan_no": loan.loan_no, "next_review_due": waiting.isoformat() if waiting else None,
            "results": [review_out(r, loan.loan_no) for r in rows], "count": len(rows)}


@router.post("/loans/{loan_no}/reviews", response={201: ReviewOut},
             summary="Record a borrower review (the lending bank's staff); clears the review-due alert")
def record_review(request, loan_no: str, payload: ReviewIn):
    review = reviews.record_review(actor=request.auth, loan_no=loan_no, data=payload.dict())
    return 201, review_out(review, review.loan.loan_no)
