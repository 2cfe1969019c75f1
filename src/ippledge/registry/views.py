"""Registry pages: public search, records and certificates; filing and following applications;
the registrar queue; statistics; notifications.  Thin: services and search do the work."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ippledge.core import permissions as perm
from ippledge.core import ratelimit
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, NotFound, ValidationFailed
from ippledge.core.listing import Column, Filter, Listing

from . import documents, forms, review, search, services, signing, stats
from .api import application_out
from .labels import KIND_LABELS, STATUS_LABELS
from .models import Notification, Pledge, PledgeApplication


def _denied(request):
    return render(request, "errors/403.html", status=403)


def _page_status(error) -> int:
    """Pages answer a form's invalid input with 400 (as every form page does); other errors keep theirs."""
    if error is None:
        return 200
    return 400 if isinstance(error, ValidationFailed) else error.status


def _form_echo(raw: dict) -> dict:
    """What the search page may echo back.  A person's ID number is never written into the page: the
    field is shown masked, and the certificate button carries it encrypted (see ``certificate_new``)."""
    q = dict(raw)
    party_id = (raw.get("party_id") or "").strip()
    masked = search.masked_party_id(party_id)
    if party_id and masked != "".join(party_id.split()).upper():
        q["party_id"], q["party_id_masked"] = "", masked
        q["party_id_token"] = signing.encrypt("search-party-id", party_id)
    return q


def _with_retry_after(response, error):
    """A throttled page says when to come back, as the API does."""
    if error is not None and getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


def _search_page(request, raw: dict, *, results, error, searched):
    return _with_retry_after(render(request, "registry/search.html", {
        "q": _form_echo(raw), "results": results, "error": error, "searched": searched, "kinds": KIND_LABELS,
        "statuses": STATUS_LABELS}, status=_page_status(error)), error)


def public_search(request):
    # The form posts, so a person's ID number searched for never lands in a URL (logs, history,
    # Referer); plain GET links to a search keep working.
    form = forms.SearchForm(request.POST if request.method == "POST" else request.GET)
    raw = form.criteria()
    results, error, searched = [], None, any(raw[k] for k in ("right", "party", "party_id", "registration_no"))
    if form.errors:
        error = ValidationFailed(_("Check the search criteria."), code="validation_error",
                                 fields={k: list(v) for k, v in form.errors.items()})
    elif searched:
        try:
            ratelimit.check("public-search", request)
            results = search.search(search.parse_criteria(raw))
        except DomainError as exc:
            error = exc
    return _search_page(request, raw, results=results, error=error, searched=searched)


def public_record(request, registration_no: str):
    try:
        pledge = services.get_pledge(search.reference(registration_no))
    except (NotFound, ValidationFailed):
        return render(request, "errors/404.html", {"message": _("No such pledge registration.")}, status=404)
    record = search.public_record(pledge)
    objections = [o for o in pledge.objections.all() if o.removed_at is None]
    return render(request, "registry/record.html", {"r": record, "pledge": pledge, "objections": objections,
                                                    "kinds": KIND_LABELS, "statuses": STATUS_LABELS})


def notice_pdf(request, registration_no: str):
    try:
        pledge = services.get_pledge(search.reference(registration_no))
    except (NotFound, ValidationFailed):
        return render(request, "errors/404.html", status=404)
    if pledge.status == "registered":
        body = documents.registration_notice_pdf(pledge, request=request)
    else:
        body = documents.cancellation_notice_pdf(pledge, request=request)
    return HttpResponse(body, content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{pledge.registration_no}.pdf"'})


@require_POST
def certificate_new(request):
    raw = forms.SearchForm(request.POST).criteria()
    try:
        ratelimit.check("public-certificate", request)
        if request.POST.get("party_id_token") and not raw["party_id"]:
            raw["party_id"] = signing.decrypt("search-party-id", request.POST["party_id_token"], max_age=3600)
            if raw["party_id"] is None:
                raw["party_id"] = ""
                raise ValidationFailed(_("The search has expired; search again to issue a certificate."),
                                       code="search_expired")
        cert = search.issue_certificate(raw)
    except DomainError as exc:
        return _search_page(request, raw, results=[], error=exc, searched=True)
    return redirect(reverse("registry:certificate_verify") + f"?no={cert.certificate_no}&code={cert.verification_code}")


def certificate_verify(request):
    form = forms.CertificateVerifyForm(request.GET if ("no" in request.GET or "code" in request.GET) else None)
    cert, refusal = None, None
    if form.is_bound and form.is_valid():
        try:
            ratelimit.check("public-search", request)
            cert = search.find_certificate(form.cleaned_data["no"].strip(), form.cleaned_data["code"].strip())
        except DomainError as exc:
            refusal = _refusal(exc)
            response = render(request, "registry/certificate.html", {"form": form, "refusal": refusal},
                              status=_page_status(exc))
            return _with_retry_after(response, exc)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "registry/certificate.html", {
        "cert": cert, "criteria": _criteria_shown(search.public_criteria(cert)) if cert else [], "form": form,
        "refusal": refusal, "kinds": KIND_LABELS, "statuses": STATUS_LABELS}, status=status)


CRITERIA_LABELS = {"right": _("Right number"), "party": _("Party name"), "party_id": _("USCC or ID number"),
                   "registration_no": _("Registration number"), "as_of": _("As of"),
                   "close": _("Close name matches")}


def _criteria_shown(criteria: dict) -> list[tuple[str, str]]:
    """The certificate's search criteria as a person reads them (labelled, times in Beijing time)."""
    from ippledge.core.templatetags.ippledge import moment

    shown = []
    for key, value in criteria.items():
        if not value:
            continue
        if key == "as_of":
            value = moment(value)
        elif key == "close":
            value = gettext("Yes")
        shown.append((str(CRITERIA_LABELS.get(key, key)), str(value)))
    return shown


def certificate_pdf_view(request, certificate_no: str):
    try:
        cert = search.find_certificate(certificate_no, request.GET.get("code", ""))
    except DomainError:
        return render(request, "errors/404.html", status=404)
    return HttpResponse(documents.certificate_pdf(cert, request=request), content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{cert.certificate_no}.pdf"'})


@login_required
def my_applications(request):
    apps = PledgeApplication.objects.restrict(request.user, "view").distinct()
    listing = Listing(request, apps, name="pledge-applications", columns=[
        Column("application_no", _("Application"), sort="application_no",
               link=lambda a: reverse("registry:application_detail", args=[a.application_no])),
        Column("filed_at", _("Filed (Beijing time)"), kind="moment", sort="filed_at"),
        Column("regime", _("Kind"), kind="label:registry.PledgeApplication.regime", sort="regime"),
        Column("status", _("Status"), kind="label:registry.PledgeApplication.status", sort="status"),
    ], filters=[
        Filter("q", _("Application number"), ("application_no",), kind="search"),
        Filter("status", _("Status"), "status", vocabulary="registry.PledgeApplication.status"),
        Filter("regime", _("Kind"), "regime", vocabulary="registry.PledgeApplication.regime"),
        Filter("from", _("Filed from"), "filed_at", kind="date_from"),
        Filter("to", _("Filed until"), "filed_at", kind="date_to"),
    ], default_sort="-filed_at")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "registry/applications.html", {"listing": listing, "can_file": _can_file(request.user)})


def _can_file(user) -> bool:
    return user.is_authenticated and perm.has_any_role(user, perm.PLEDGE_FILERS)


def _filing_page(request, form, *, search_form=None, found=(), searched=False, status=200):
    return render(request, "registry/application_form.html", {
        "form": form, "search": search_form or forms.PledgorSearchForm(), "found": found, "searched": searched,
        "own_only": forms.files_for_own_org_only(request.user)}, status=status)


@login_required
def application_new(request):
    """File a pledge: the pledgor picked from the register (an enterprise files for itself), its rights
    ticked from the register, the pledgee the officer's own bank (or a bank picked from the list)."""
    if not _can_file(request.user):
        return _denied(request)
    if request.method == "POST":
        current_channel.set("web")
        form = forms.PledgeApplicationForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                app = services.file_application(actor=request.user, data=form.service_data(),
                                                idempotency_key=form.cleaned_data.get("form_token") or "")
            except DomainError as exc:
                forms.add_service_error(form, exc)
            else:
                return redirect("registry:application_detail", application_no=app.application_no)
        return _filing_page(request, form, status=400)
    search_form = forms.PledgorSearchForm(request.GET)
    query = search_form.cleaned_data.get("pledgor_q", "") if search_form.is_valid() else ""
    form = forms.PledgeApplicationForm(user=request.user, pledgor_key=request.GET.get("pledgor", ""))
    return _filing_page(request, form, search_form=search_form, searched=bool(query),
                        found=forms.find_pledgors(request.user, query) if query else ())


def _filed_rights(app) -> list[dict]:
    """The application's rights as the register knows them (kind label, number as written, title, state)."""
    from ippledge.rights.models import Right

    wanted = [(r.get("kind"), r.get("number")) for r in app.data.get("rights") or []]
    found = {(r.kind, r.number): r for r in Right.objects.filter(
        number__in=[n for _k, n in wanted]).prefetch_related("events")}
    return [forms.right_row(found[key]) for key in wanted if key in found]


def _refusal(exc) -> dict:
    """A refusal as a page shows it: the translated message (the code only as a data attribute)."""
    return {"message": exc.localised(gettext), "code": exc.code}


@login_required
def application_detail(request, application_no: str):
    try:
        app = services.get_application(actor=request.user, application_no=application_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    refusal, correction = None, forms.CorrectionForm(rights=app.data.get("rights") or [], initial={
        "confirm_pledgor": (app.data.get("confirmations") or {}).get("pledgor"),
        "confirm_pledgee": (app.data.get("confirmations") or {}).get("pledgee"), "agent": app.data.get("agent"),
        "registration_term_end": app.data.get("registration_term_end")})
    if request.method == "POST":
        current_channel.set("web")
        action = forms.ApplicationActionForm(request.POST)
        if action.is_valid():
            do = action.cleaned_data
            try:
                if do["action"] == "declare":
                    services.declare(actor=request.user, application_no=application_no, proceed=do["proceed"] == "1")
                elif do["action"] == "withdraw":
                    services.withdraw(actor=request.user, application_no=application_no)
                elif do["action"] == "confirm":
                    services.confirm(actor=request.user, application_no=application_no, side=do["side"],
                                     signed_contract_ref=do["signed_contract_ref"])
                else:
                    correction = forms.CorrectionForm(request.POST, rights=app.data.get("rights") or [])
                    if not correction.is_valid():
                        raise _FormInvalid
                    services.correct(actor=request.user, application_no=application_no,
                                     changes=correction.changes())
            except _FormInvalid:
                pass
            except DomainError as exc:
                if do["action"] == "correct" and exc.fields:
                    forms.add_domain_error(correction, exc, {})
                else:
                    refusal = _refusal(exc)
            else:
                return redirect("registry:application_detail", application_no=application_no)
        else:
            refusal = {"message": " ".join(m for errs in action.errors.values() for m in errs), "code": ""}
    out = application_out(app)
    invalid = refusal is not None or correction.errors
    return render(request, "registry/application.html", {
        "a": out, "app": app, "refusal": refusal, "correction": correction, "filed_rights": _filed_rights(app),
        "pledge": Pledge.objects.filter(application=app).first(),
        "can_confirm": services.sides_actor_may_confirm(request.user, app)}, status=400 if invalid else 200)


class _FormInvalid(Exception):
    """The correction form did not validate: its errors are shown next to its fields."""


def _queue_listing(request, apps):
    return Listing(request, apps, name="registrar-queue", columns=[
        Column("application_no", _("Application"), sort="application_no",
               link=lambda a: reverse("registry:review_case", args=[a.application_no])),
        Column("filed_at", _("Filed (Beijing time)"), kind="moment", sort="filed_at"),
        Column("regime", _("Kind"), kind="label:registry.PledgeApplication.regime", sort="regime"),
        Column("status", _("Status"), kind="label:registry.PledgeApplication.status", sort="status"),
        Column("pending", _("Waiting for a checker"), value=lambda a: next(
            (p.get_action_display() for p in a.proposals.all() if not p.decided_at), "")),
    ], filters=[
        Filter("q", _("Application number"), ("application_no",), kind="search"),
        Filter("status", _("Status"), "status", vocabulary="registry.PledgeApplication.status"),
        Filter("regime", _("Kind"), "regime", vocabulary="registry.PledgeApplication.regime"),
        Filter("from", _("Filed from"), "filed_at", kind="date_from"),
        Filter("to", _("Filed until"), "filed_at", kind="date_to"),
    ], default_sort="filed_at")


@login_required
def registrar_queue(request):
    if not perm.is_registrar(request.user):
        return _denied(request)
    listing = _queue_listing(request, review.queue(request.user))
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "registry/queue.html", {"listing": listing})


@login_required
def review_case(request, application_no: str):
    if not perm.is_registrar(request.user):
        return _denied(request)
    try:
        app = services.get_application(actor=request.user, application_no=application_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    proposal_form, decision_form, refusal = forms.ReviewForm(), None, None
    if request.method == "POST":
        current_channel.set("web")
        try:
            if "proposal_id" in request.POST:
                decision_form = forms.DecisionForm(request.POST)
                if decision_form.is_valid():
                    review.decide(actor=request.user, proposal_id=decision_form.cleaned_data["proposal_id"],
                                  accept=decision_form.cleaned_data["accept"])
                    return redirect("registry:review_case", application_no=application_no)
                refusal = {"message": " ".join(m for errs in decision_form.errors.values() for m in errs),
                           "code": ""}
            else:
                proposal_form = forms.ReviewForm(request.POST)
                if proposal_form.is_valid():
                    d = proposal_form.cleaned_data
                    review.propose(actor=request.user, application_no=application_no, action=d["action"],
                                   reason=d["reason"], code=d["code"])
                    return redirect("registry:review_case", application_no=application_no)
        except DomainError as exc:
            if exc.fields and decision_form is None:
                forms.add_domain_error(proposal_form, exc, {})
            else:
                refusal = _refusal(exc)
    pending = app.proposals.filter(decided_at__isnull=True).select_related("proposed_by").first()
    invalid = refusal is not None or proposal_form.errors
    return render(request, "registry/review.html", {
        "a": application_out(app), "app": app, "pending": pending, "refusal": refusal, "form": proposal_form,
        "filed_rights": _filed_rights(app),
        "proposals": app.proposals.filter(decided_at__isnull=False).select_related("proposed_by", "decided_by"),
        "pledge": Pledge.objects.filter(application=app).first()}, status=400 if invalid else 200)


def registration_stats(request):
    return render(request, "registry/stats.html", {"data": stats.registration_time(), "kinds": KIND_LABELS})


@login_required
def notifications(request):
    items = Notification.objects.restrict(request.user, "view")[:200]
    return render(request, "registry/notifications.html", {"items": items})
