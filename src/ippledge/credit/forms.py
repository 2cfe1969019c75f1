"""Django forms for every credit page input: the case's actions (due-diligence findings, sign-off,
valuation, review, approval, disbursement), the enterprise's financing need, expressing interest in a
match.  Forms check shape and bounds and give errors next to their fields in the reader's language;
the workflow services decide (and check everything again).  The field names are the services' and the
pages' (``valuation_no``, ``decision``, ``note``, ...), so a service's field error lands on its field."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ippledge.core import limits, money

from .labels import DD_LABELS, RESULT_LABELS
from .models import CaseStep, CreditCase, DueDiligenceItem, FinancingNeed, ScheduleKind

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024  # workflow.EVIDENCE_MAX_BYTES (checked again there)
NOTE_MAX = CaseStep._meta.get_field("note").max_length


def apply_domain_error(form: forms.Form, exc) -> None:
    """Put a service's refusal on the form: each field error on its field (``rights[0]`` → ``rights``),
    the message as the form's own error.  Never the raw field path or code."""
    placed = set()
    for name, messages in (getattr(exc, "fields", None) or {}).items():
        base = re.split(r"[\[.]", str(name), maxsplit=1)[0]
        if base not in form.fields:
            continue
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            text = gettext(str(message))
            if text and text not in placed:
                form.add_error(base, text)
                placed.add(text)
    message = exc.localised(gettext) if hasattr(exc, "localised") else str(exc)
    if message and message not in placed:
        form.add_error(None, message)


class DueDiligenceForm(forms.Form):
    key = forms.ChoiceField(label=_("Item"))
    result = forms.ChoiceField(label=_("Finding"), choices=[("ok", RESULT_LABELS["ok"]),
                                                            ("issue", RESULT_LABELS["issue"])])
    notes = forms.CharField(label=_("Notes"), required=False,
                            max_length=DueDiligenceItem._meta.get_field("notes").max_length)
    evidence = forms.CharField(label=_("Evidence (one reference per line)"), required=False, max_length=4000,
                               widget=forms.Textarea(attrs={"rows": 2}))
    file = forms.FileField(label=_("Evidence file"), required=False)

    def __init__(self, *args, keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [(k, DD_LABELS.get(k, k)) for k in keys]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > EVIDENCE_MAX_BYTES:
            raise forms.ValidationError(_("Attach a file of at most 10 MB."))
        return upload

    def references(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("evidence", "").splitlines() if line.strip()]


class SubmitForm(forms.Form):
    risk_grade = forms.ChoiceField(label=_("Risk grade"))

    def __init__(self, *args, grades=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["risk_grade"].choices = [(g, g) for g in grades]


class ValuationForm(forms.Form):
    valuation_no = forms.ChoiceField(label=_("Valuation of the pledged rights"))

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["valuation_no"].choices = [("", _("Choose a valuation"))] + [
            (v.valuation_no, valuation_choice_label(v)) for v in candidates]


def valuation_choice_label(v) -> str:
    from ippledge.core import vocabulary

    method = vocabulary.label("valuation.ValuationRecord.basis", v.basis)
    return gettext("%(no)s · %(basis)s · market value %(value)s yuan · valued %(date)s, valid until %(until)s") % {
        "no": v.valuation_no, "basis": method, "value": money.format_yuan(v.market_value),
        "date": v.valuation_date.isoformat(), "until": v.valid_until.isoformat()}


class _DecisionForm(forms.Form):
    DECISIONS: tuple[str, ...] = ()
    NEEDS_REASON: tuple[str, ...] = ("return", "decline")
    decision = forms.ChoiceField()
    note = forms.CharField(label=_("Reason"), required=False, max_length=NOTE_MAX)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = [(d, d) for d in self.DECISIONS]

    def clean(self):
        data = super().clean()
        if data.get("decision") in self.NEEDS_REASON and not (data.get("note") or "").strip():
            self.add_error("note", _("Give the reason."))
        return data


class ReviewForm(_DecisionForm):
    DECISIONS = ("pass", "return", "decline")


class ApprovalForm(_DecisionForm):
    DECISIONS = ("approve", "return", "decline")
    NEEDS_REASON = ("decline",)
    ltv_override_reason = forms.CharField(
        label=_("Reason for the LTV override"), required=False,
        max_length=CreditCase._meta.get_field("ltv_override_reason").max_length,
        widget=forms.TextInput(attrs={"data-testid": "ltv-override-reason"}))


class DisburseForm(forms.Form):
    schedule = forms.ChoiceField(label=_("Repayment schedule"), choices=ScheduleKind.choices,
                                 initial=ScheduleKind.BULLET)


class SignForm(forms.Form):
    """Signing takes no input: the button is the enterprise's act."""


CASE_FORMS = {"dd": DueDiligenceForm, "submit": SubmitForm, "valuation": ValuationForm, "review": ReviewForm,
              "approval": ApprovalForm, "disburse": DisburseForm, "sign": SignForm}


class NeedForm(forms.Form):
    """The enterprise's financing need: the amount in yuan, the term, the purpose and the rights it
    offers, chosen from the rights the register records it as holding."""

    amount = forms.DecimalField(label=_("Amount (yuan)"), min_value=Decimal("0.01"), decimal_places=2,
                                max_digits=14, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    term_months = forms.IntegerField(label=_("Term (months)"), min_value=1, initial=12,
                                     widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    purpose = forms.CharField(label=_("Purpose"), required=False,
                              max_length=FinancingNeed._meta.get_field("purpose").max_length)
    rights = forms.MultipleChoiceField(label=_("Rights offered as collateral"),
                                       widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": _("Choose at least one right.")})

    def __init__(self, *args, rights=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term_months"].validators.append(MaxValueValidator(limits.limit("MAX_TERM_MONTHS")))
        self.fields["amount"].validators.append(MaxValueValidator(Decimal(limits.limit("MAX_AMOUNT_YUAN"))))
        self.fields["rights"].choices = [(f"{r.kind}:{r.number}", right_choice_label(r)) for r in rights]

    def clean_amount(self):
        value = self.cleaned_data["amount"]
        if not value.is_finite():
            raise forms.ValidationError(_("Not a valid amount."))
        return value

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"amount": str(data["amount"]), "term_months": data["term_months"], "purpose": data["purpose"],
                "rights": [dict(zip(("kind", "number"), ref.split(":", 1), strict=True)) for ref in data["rights"]]}


def right_choice_label(right) -> str:
    from ippledge.core import vocabulary
    from ippledge.core.identifiers import PATENT_KINDS, format_patent_number

    number = format_patent_number(right.number) if right.kind in PATENT_KINDS else right.number
    kind = vocabulary.label("rights.Right.kind", right.kind)
    title = right.display_title
    return f"{kind} {number}" + (f" · {title}" if title and title != right.number else "")


class InterestForm(forms.Form):
    """Expressing interest in a match opens a credit case for this need and product."""

    need_id = forms.IntegerField(min_value=1, max_value=2**53)
    product_id = forms.IntegerField(min_value=1, max_value=2**53)


class MatchingQueryForm(forms.Form):
    need = forms.IntegerField(required=False, min_value=1, max_value=2**53)
    product = forms.IntegerField(required=False, min_value=1, max_value=2**53)


class PlanYearForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)


class PlanForm(forms.Form):
    """A bank approver sets the bank's dedicated credit plan for this year or the next."""

    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    households = forms.IntegerField(label=_("Households (plan)"), min_value=0)
    amount = forms.DecimalField(label=_("Amount (yuan, plan)"), min_value=Decimal("0"), decimal_places=2,
                                max_digits=14, widget=forms.TextInput(attrs={"inputmode": "decimal"}))


class ParkLineForm(forms.Form):
    """A bank approver grants an industrial park an intent credit line."""

    park_name = forms.CharField(label=_("Park"), max_length=200)
    limit = forms.DecimalField(label=_("Limit (yuan)"), min_value=Decimal("0.01"), decimal_places=2,
                               max_digits=14, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    start_date = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start_date") and data.get("end_date") and data["end_date"] <= data["start_date"]:
            self.add_error("end_date", _("The line ends after it starts."))
        return data
