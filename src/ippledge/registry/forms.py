"""Page forms of the pledge registry: filing (pledgor and rights picked from the register), the
registrar's review, the public search and certificate verification.

A form checks what a page can check; the services check everything again, and their field errors
are put next to the form's fields (``rights.forms.add_domain_error``), never as internal paths.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ippledge.core import identifiers
from ippledge.core import permissions as perm
from ippledge.core.errors import DomainError
from ippledge.core.models import Organisation
from ippledge.core.regions import is_region_code, region_name
from ippledge.core.roles import OFFICE_RIGHT_KINDS, OrgKind
from ippledge.rights import services as rights_services
from ippledge.rights.forms import DateInput, add_domain_error
from ippledge.rights.labels import FLAG_LABELS, LEGAL_STATE_LABELS
from ippledge.rights.models import Right, RightHolder, RightKind

from .models import ReviewProposal

__all__ = ["add_domain_error"]

# Organisations (not people) are found by name or code; a person's rights are filed through the API.
ORG_ID_TYPES = ("uscc", "foreign_company")
MAX_FOUND = 20
CURRENCIES = (("CNY", _("Renminbi (CNY)")), ("USD", _("US dollar (USD)")), ("EUR", _("Euro (EUR)")),
              ("HKD", _("Hong Kong dollar (HKD)")))


@dataclass(frozen=True)
class Holder:
    """An organisation holding rights in the register, as the filing page offers it."""

    id_type: str
    id_number: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.id_type}:{self.id_number}"


def _office_kinds(user) -> set[str] | None:
    """The kinds of right a registrar's office files for (None: any)."""
    if perm.is_registrar(user) and not user.is_platform_admin:
        return set(OFFICE_RIGHT_KINDS.get(getattr(user.organisation, "kind", ""), set()))
    return None


def own_holder(user) -> Holder | None:
    """An enterprise user's own organisation: the only pledgor it files for."""
    org = user.organisation
    if org is None or org.kind != OrgKind.ENTERPRISE or not org.uscc:
        return None
    return Holder("uscc", org.uscc, org.name)


def files_for_own_org_only(user) -> bool:
    return not user.is_platform_admin and not perm.is_registrar(user) and \
        getattr(user.organisation, "kind", None) == OrgKind.ENTERPRISE


def _holders(qs, limit: int) -> list[Holder]:
    seen: dict[tuple[str, str], Holder] = {}
    for id_type, id_number, name in qs.order_by("name", "id_number").values_list("id_type", "id_number", "name"):
        seen.setdefault((id_type, id_number), Holder(id_type, id_number, name))
        if len(seen) >= limit:
            break
    return list(seen.values())


def find_pledgors(user, query: str, limit: int = MAX_FOUND) -> list[Holder]:
    """Organisations in the register whose name or USCC matches ``query``: whom this filer may name as
    pledgor.  An enterprise user files for its own organisation only; a bank officer picks any
    organisation holding rights; a registrar, those holding rights its office records."""
    if files_for_own_org_only(user):
        own = own_holder(user)
        return [own] if own else []
    query = "".join(c for c in (query or "") if c.isprintable()).strip()[:100]
    if len(query) < 2:
        return []
    qs = RightHolder.objects.filter(id_type__in=ORG_ID_TYPES)
    kinds = _office_kinds(user)
    if kinds is not None:
        qs = qs.filter(right__kind__in=kinds)
    qs = qs.filter(Q(name_normalised__contains=identifiers.normalise_name(query))
                   | Q(id_number__startswith=query.upper()))
    return _holders(qs, limit)


def pledgor_for(user, key: str) -> Holder | None:
    """The holder a key names, if this filer may name it as pledgor."""
    if files_for_own_org_only(user):
        own = own_holder(user)
        return own if own and key in ("", own.key) else None
    id_type, _sep, id_number = (key or "").partition(":")
    if id_type not in ORG_ID_TYPES or not id_number:
        return None
    qs = RightHolder.objects.filter(id_type=id_type, id_number=id_number)
    kinds = _office_kinds(user)
    if kinds is not None:
        qs = qs.filter(right__kind__in=kinds)
    found = _holders(qs, 1)
    return found[0] if found else None


def rights_of(holder: Holder | None, user=None):
    if holder is None:
        return Right.objects.none()
    qs = Right.objects.filter(holders__id_type=holder.id_type, holders__id_number=holder.id_number)
    kinds = _office_kinds(user) if user is not None else None
    if kinds is not None:
        qs = qs.filter(kind__in=kinds)
    return qs.distinct().prefetch_related("events").order_by("kind", "number")


def right_row(right: Right) -> dict:
    """What a person needs to pick a right: its kind, number as written, title and legal state."""
    state = rights_services.state_of(right)
    from .hooks import live_pledges

    return {"pk": right.pk, "kind": right.kind, "kind_label": right.get_kind_display(),
            "number": identifiers.format_patent_number(right.number) if right.kind in identifiers.PATENT_KINDS
            else right.number, "raw_number": right.number, "title": right.display_title,
            "state": state.legal_state, "state_label": LEGAL_STATE_LABELS.get(state.legal_state, state.legal_state),
            "flags": [FLAG_LABELS.get(f, f) for f in state.flags],
            "pledged": [p.registration_no for p in live_pledges(right)]}


def _recorded_owner(holder: Holder, rights) -> dict:
    """The pledgor's address and country as the register recorded them with its rights."""
    for right in rights:
        for owner in right.owners or []:
            if (owner.get("id_number") or "").upper() == holder.id_number.upper() and owner.get("address"):
                return owner
    return {}


class PledgeApplicationForm(forms.Form):
    form_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
    pledgor = forms.CharField(label=_("Pledgor (出质人)"), widget=forms.HiddenInput, required=False)
    pledgor_address = forms.CharField(label=_("Pledgor's address"), max_length=200)
    rights = forms.ModelMultipleChoiceField(label=_("Pledged rights"), queryset=Right.objects.none(),
                                            widget=forms.CheckboxSelectMultiple,
                                            error_messages={"required": _("Tick at least one right to pledge.")})
    pledgee = forms.ModelChoiceField(label=_("Pledgee (质权人)"), queryset=Organisation.objects.none(),
                                     empty_label=_("Choose the lending bank"))
    pledgee_address = forms.CharField(label=_("Pledgee's address"), max_length=200)
    debt_type = forms.CharField(label=_("Secured debt type"), max_length=200, initial="流动资金贷款")
    debt_amount = forms.DecimalField(label=_("Secured amount"), min_value=Decimal("0.01"), max_digits=16, decimal_places=2,
                                     help_text=_("In the currency below (yuan for CNY), up to two decimals."),
                                     widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES, initial="CNY")
    debt_due_date = forms.DateField(label=_("Debt due date"), widget=DateInput())
    guarantee_scope = forms.CharField(label=_("Guarantee scope"), max_length=2000,
                                      initial="主债权及利息、违约金、损害赔偿金和实现质权的费用")
    contract_no = forms.CharField(label=_("Pledge contract number"), max_length=100)
    registration_term_end = forms.DateField(label=_("Registration term end (trademarks)"), required=False,
                                            widget=DateInput())
    co_owner_consents = forms.CharField(
        label=_("Co-owner consents"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line: the right's number and the consenting co-owner's USCC or ID number."))
    agent = forms.CharField(label=_("Agency (for foreign parties)"), required=False, max_length=200)
    declare_same_day = forms.BooleanField(
        label=_("We declare to continue although an identical invention was filed the same day"), required=False)
    declare_invalidation = forms.BooleanField(
        label=_("We declare to continue although invalidation proceedings are pending"), required=False)
    confirm_pledgor = forms.BooleanField(label=_("The pledgor confirms this application"), required=False,
                                         initial=True)
    confirm_pledgee = forms.BooleanField(label=_("The pledgee confirms this application"), required=False,
                                         initial=True)

    def __init__(self, data=None, *, user, pledgor_key: str = "", **kwargs):
        if data is None:
            kwargs.setdefault("initial", {}).setdefault("form_token", secrets.token_hex(12))
        super().__init__(data, **kwargs)
        self.user = user
        key = (data.get("pledgor") if data is not None else None) or pledgor_key
        self.holder = pledgor_for(user, key or "")
        if self.holder is None and files_for_own_org_only(user):
            self.holder = own_holder(user)
        self.fields["pledgor"].initial = self.holder.key if self.holder else ""
        self.fields["rights"].queryset = rights_of(self.holder, user)
        self.right_rows = [right_row(r) for r in self.fields["rights"].queryset]
        owner = _recorded_owner(self.holder, self.fields["rights"].queryset) if self.holder else {}
        if owner.get("address"):
            address = owner["address"]
            # Some records keep only the GB/T 2260 division as the address: prefill its name.
            self.fields["pledgor_address"].initial = region_name(address) if is_region_code(address) else address
        self.pledgor_country = (owner.get("country") or "CN").upper()
        org = user.organisation
        banks = Organisation.objects.filter(kind=OrgKind.BANK, is_active=True, uscc__isnull=False).exclude(uscc="")
        self.own_bank = org if org is not None and org.kind == OrgKind.BANK and org.uscc and \
            not perm.is_registrar(user) else None
        if self.own_bank is not None:
            # A bank's officer files for its own bank.
            banks = banks.filter(pk=self.own_bank.pk)
            self.fields["pledgee"].initial = self.own_bank.pk
            self.fields["pledgee"].widget = forms.HiddenInput()
        self.fields["pledgee"].queryset = banks.order_by("name")

    def selected_rights(self) -> set[str]:
        value = self["rights"].value() or []
        return {str(v) for v in value}

    def clean_pledgor(self):
        if self.holder is None:
            raise forms.ValidationError(_("Search the register and choose the pledgor."))
        return self.holder.key

    def clean_co_owner_consents(self):
        return _consent_lines(self.cleaned_data.get("co_owner_consents") or "")

    def clean(self):
        data = super().clean()
        chosen = data.get("rights") or []
        consents = []
        for number, owner in data.get("co_owner_consents") or []:
            right = next((r for r in chosen if _written_is(r.kind, r.number, number)), None)
            if right is None:
                self.add_error("co_owner_consents", gettext("%(number)s is not among the rights ticked above.")
                               % {"number": number})
                continue
            consents.append({"right": {"kind": right.kind, "number": right.number}, "owner_id_number": owner})
        data["consents"] = consents
        return data

    def service_data(self) -> dict:
        d, holder, bank = self.cleaned_data, self.holder, self.cleaned_data["pledgee"]
        assert holder is not None
        rights = sorted(d["rights"], key=lambda r: (r.kind, r.number))
        return {
            "pledgors": [{"name": holder.name, "id_type": holder.id_type, "id_number": holder.id_number,
                          "address": d["pledgor_address"], "country": self.pledgor_country,
                          "domicile_in_china": self.pledgor_country == "CN"}],
            "pledgees": [{"name": bank.name, "id_type": "uscc", "id_number": bank.uscc, "address": d["pledgee_address"],
                          "country": "CN", "domicile_in_china": True}],
            "rights": [{"kind": r.kind, "number": r.number} for r in rights],
            "secured_debt": {"type": d["debt_type"], "amount": str(d["debt_amount"]), "currency": d["currency"]},
            "debt_due_date": d["debt_due_date"].isoformat(), "guarantee_scope": d["guarantee_scope"],
            "contract_no": d["contract_no"], "co_owner_consents": d["consents"],
            "declarations": {"same_day_invention": True if d.get("declare_same_day") else None,
                             "invalidation_pending": True if d.get("declare_invalidation") else None},
            "registration_term_end": d["registration_term_end"].isoformat() if d.get("registration_term_end") else None,
            "agent": d.get("agent") or None,
            "confirmations": {"pledgor": bool(d.get("confirm_pledgor")), "pledgee": bool(d.get("confirm_pledgee"))},
        }

    def field_for(self, path: str) -> str | None:
        """The form field for a path in the service's field errors."""
        head = path.split(".")[0].split("[")[0]
        if head == "pledgors":
            return "pledgor_address" if path.endswith(".address") else "pledgor"
        if head == "pledgees":
            return "pledgee_address" if path.endswith(".address") else "pledgee"
        if head == "secured_debt":
            return {"type": "debt_type", "currency": "currency"}.get(path.rpartition(".")[2], "debt_amount")
        if head in ("rights", "co_owner_consents"):
            return head
        return head if head in self.fields else None


def add_service_error(form: PledgeApplicationForm, exc) -> None:
    """A filing refused by the service, its messages next to the fields (a right named by its number)."""
    rights = sorted(form.cleaned_data.get("rights") or [], key=lambda r: (r.kind, r.number))
    fields = {}
    for path, messages in (getattr(exc, "fields", None) or {}).items():
        messages = messages if isinstance(messages, list | tuple) else [messages]
        if path.startswith("rights["):
            index = path[len("rights["):].split("]")[0]
            if index.isdigit() and int(index) < len(rights):
                number = right_row(rights[int(index)])["number"]
                messages = [f"{number}: {gettext(str(m))}" for m in messages]
        fields[path] = messages
    add_domain_error(form, exc, form.field_for, fields=fields)


class ReviewForm(forms.Form):
    """A registrar's proposal: no decision is chosen for them."""

    action = forms.ChoiceField(label=_("Decision"), error_messages={"required": _("Choose a decision.")})
    code = forms.ChoiceField(label=_("Refusal ground"), required=False, choices=[
        ("", "—"), ("other", _("Other (P12/T5/C6)")), ("contract_unlawful", _("Contract unlawful (T2/C2)"))])
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Choose a decision"))] + list(ReviewProposal.Action.choices)

    def clean(self):
        data = super().clean()
        if data.get("action") == ReviewProposal.Action.REFUSE and not data.get("code"):
            self.add_error("code", _("Give the ground of the refusal."))
        return data


class DecisionForm(forms.Form):
    """The checker's answer to a pending proposal."""

    proposal_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    accept = forms.TypedChoiceField(choices=[("1", _("Confirm")), ("0", _("Reject"))], coerce=lambda v: v == "1",
                                    error_messages={"required": _("Confirm or reject the proposal.")})


class CertificateVerifyForm(forms.Form):
    no = forms.CharField(label=_("Certificate number"), max_length=64)
    code = forms.CharField(label=_("Verification code"), max_length=64)


class PledgorSearchForm(forms.Form):
    pledgor_q = forms.CharField(label=_("Find the pledgor by name or USCC"), max_length=100, required=False,
                                widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))


def _consent_lines(text: str) -> list[tuple[str, str]]:
    consents = []
    for line in (text or "").splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 3:  # kind, number, owner
            parts = parts[1:]
        if len(parts) != 2:
            raise forms.ValidationError(_("Write each consent as the right's number and the co-owner's "
                                          "USCC or ID number, separated by a space."))
        consents.append((parts[0], parts[1]))
    return consents


class ApplicationActionForm(forms.Form):
    """What a party does on its application page: declare, confirm, withdraw (correction: below)."""

    action = forms.ChoiceField(choices=[("declare", "declare"), ("withdraw", "withdraw"), ("confirm", "confirm"),
                                        ("correct", "correct")])
    proceed = forms.ChoiceField(choices=[("1", _("Yes, continue")), ("0", _("No"))], required=False)
    side = forms.ChoiceField(choices=[("pledgor", _("Pledgor")), ("pledgee", _("Pledgee"))], required=False)
    signed_contract_ref = forms.CharField(label=_("Signed contract (document number or file hash)"),
                                          max_length=200, required=False)

    def __init__(self, data=None, **kwargs):
        if data is not None and "continue" in data and "proceed" not in data:
            data = data.copy()
            data["proceed"] = data["continue"]
        super().__init__(data, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("action") == "confirm" and not data.get("side"):
            self.add_error("side", _("Say which party confirms."))
        return data


class CorrectionForm(forms.Form):
    confirm_pledgor = forms.BooleanField(label=_("The pledgor confirms this application"), required=False)
    confirm_pledgee = forms.BooleanField(label=_("The pledgee confirms this application"), required=False)
    agent = forms.CharField(label=_("Agency (for foreign parties)"), max_length=200, required=False)
    registration_term_end = forms.DateField(label=_("Registration term end (trademarks)"), required=False,
                                            widget=DateInput())
    co_owner_consents = forms.CharField(
        label=_("Co-owner consents"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line: the right's number and the consenting co-owner's USCC or ID number."))

    def __init__(self, *args, rights: list[dict] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.app_rights = list(rights)

    def clean_co_owner_consents(self):
        consents = []
        for number, owner in _consent_lines(self.cleaned_data.get("co_owner_consents") or ""):
            right = next((r for r in self.app_rights if _written_is(r["kind"], r["number"], number)), None)
            if right is None:
                raise forms.ValidationError(gettext("%(number)s is not a right of this application.")
                                            % {"number": number})
            consents.append({"right": {"kind": right["kind"], "number": right["number"]}, "owner_id_number": owner})
        return consents

    def changes(self) -> dict:
        d = self.cleaned_data
        changes: dict = {"confirmations": {"pledgor": d["confirm_pledgor"], "pledgee": d["confirm_pledgee"]}}
        if d.get("agent"):
            changes["agent"] = d["agent"]
        if d.get("registration_term_end"):
            changes["registration_term_end"] = d["registration_term_end"].isoformat()
        if d.get("co_owner_consents"):
            changes["co_owner_consents"] = d["co_owner_consents"]
        return changes


def _written_is(kind: str, number: str, written: str) -> bool:
    try:
        return identifiers.normalise_right_number(kind, written) == number
    except DomainError:
        return False


REGISTRATION_NO = re.compile(r"Y\d{5}\d{7}")


def _one_box(text: str) -> dict:
    """What a single search box (the home page's) most likely holds: a registration number, a USCC or
    ID number, a right's number, or else a party's name."""
    compact = "".join(text.split()).upper()
    if REGISTRATION_NO.fullmatch(compact):
        return {"registration_no": compact}
    if len(compact) == 18:
        for check in (identifiers.normalise_uscc, identifiers.normalise_resident_id):
            try:
                check(compact)
                return {"party_id": compact}
            except DomainError:
                continue
    # Every kind's number is mostly digits; a name has few or none (some kinds' numbers are free text).
    for kind in RightKind.values if sum(c.isdigit() for c in compact) >= 5 else ():
        try:
            identifiers.normalise_right_number(kind, text)
            return {"right": text}
        except DomainError:
            continue
    return {"party": text}


class SearchForm(forms.Form):
    """The public search's criteria; the search service reads and bounds them (a bad USCC is its 422).
    ``q`` is the home page's one box, read as whichever criterion it looks like."""

    q = forms.CharField(max_length=200, required=False)
    right = forms.CharField(label=_("Right number"), max_length=200, required=False,
                            widget=forms.TextInput(attrs={"placeholder": "ZL201410362077.3"}))
    party = forms.CharField(label=_("Party name"), max_length=200, required=False)
    party_id = forms.CharField(label=_("USCC or ID number"), max_length=64, required=False)
    registration_no = forms.CharField(label=_("Registration number"), max_length=64, required=False)
    as_of = forms.CharField(label=_("As of (optional)"), max_length=40, required=False)
    close = forms.BooleanField(label=_("Also show close name matches (labelled)"), required=False)

    def criteria(self) -> dict:
        """The criteria as text, as the search service and the certificate read them."""
        d = self.cleaned_data if self.is_valid() else {}
        raw = {k: (d.get(k) or "") for k in ("right", "party", "party_id", "registration_no", "as_of")}
        raw["close"] = "1" if d.get("close") else ""
        q = (d.get("q") or "").strip()
        if q and not any(raw[k] for k in ("right", "party", "party_id", "registration_no")):
            raw.update(_one_box(q))
        return raw
