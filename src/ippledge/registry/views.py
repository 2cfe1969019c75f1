"""Registry pages: public search, records and certificates; filing and following applications;
the registrar queue; statistics; notifications.  Thin: services and search do the work."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ippledge.core import permissions as perm
from ippledge.core import ratelimit
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ippledge.rights.models import IdType

from . import documents, review, search, services, signing, stats
from .api import application_out
from .labels import KIND_LABELS, REASON_LABELS, STATUS_LABELS
from .models import Notification, Pledge, PledgeApplication, ReviewProposal

CRITERIA = ("right", "party", "party_id", "registration_no", "as_of", "close")


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
    source = request.POST if request.method == "POST" else request.GET
    raw = {k: source.get(k, "") for k in CRITERIA}
    results, error, searched = [], None, any(raw[k] for k in ("right", "party", "party_id", "registration_no"))
    if searched:
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
    raw = {k: request.POST.get(k, "") for k in CRITERIA}
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
    number, code = request.GET.get("no", "").strip(), request.GET.get("code", "").strip()
    cert, error = None, None
    if number or code:
        try:
            ratelimit.check("public-search", request)
            cert = search.find_certificate(number, code)
        except DomainError as exc:
            error = exc
    return _with_retry_after(render(request, "registry/certificate.html", {
        "cert": cert, "criteria": search.public_criteria(cert) if cert else {}, "error": error, "no": number,
        "code": code, "kinds": KIND_LABELS, "statuses": STATUS_LABELS}, status=_page_status(error)), error)


def certificate_pdf_view(request, certificate_no: str):
    try:
        cert = search.find_certificate(certificate_no, request.GET.get("code", ""))
    except DomainError:
        return render(request, "errors/404.html", status=404)
    return HttpResponse(documents.certificate_pdf(cert, request=request), content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{cert.certificate_no}.pdf"'})


@login_required
def my_applications(request):
    apps = PledgeApplication.objects.restrict(request.user, "view").distinct().order_by("-filed_at")[:200]
    return render(request, "registry/applications.html", {"apps": apps, "statuses": STATUS_LABELS,
                                                          "can_file": _can_file(request.user)})


def _can_file(user) -> bool:
    return user.is_authenticated and perm.has_any_role(user, perm.PLEDGE_FILERS)


def _party_from_form(form, prefix: str) -> dict:
    return {"name": form.get(f"{prefix}_name", ""), "id_type": form.get(f"{prefix}_id_type", "uscc"),
            "id_number": form.get(f"{prefix}_id_number", ""), "address": form.get(f"{prefix}_address", ""),
            "country": form.get(f"{prefix}_country") or "CN",
            "domicile_in_china": form.get(f"{prefix}_foreign") != "1"}


def application_from_form(form) -> dict:
    rights = []
    for line in (form.get("rights") or "").splitlines():
        parts = line.replace(",", " ").split(None, 1)
        if len(parts) == 2:
            rights.append({"kind": parts[0].strip(), "number": parts[1].strip()})
        elif parts:
            rights.append({"kind": form.get("default_kind", "invention"), "number": parts[0].strip()})
    consents = []
    for line in (form.get("co_owner_consents") or "").splitlines():
        parts = line.split()
        if len(parts) == 3:
            consents.append({"right": {"kind": parts[0], "number": parts[1]}, "owner_id_number": parts[2]})
    return {
        "pledgors": [_party_from_form(form, "pledgor")], "pledgees": [_party_from_form(form, "pledgee")],
        "rights": rights,
        "secured_debt": {"type": form.get("debt_type", ""), "amount": form.get("debt_amount", ""),
                         "currency": form.get("currency") or "CNY"},
        "debt_due_date": form.get("debt_due_date", ""), "guarantee_scope": form.get("guarantee_scope", ""),
        "contract_no": form.get("contract_no", ""), "co_owner_consents": consents,
        "declarations": {"same_day_invention": True if form.get("declare_same_day") else None,
                         "invalidation_pending": True if form.get("declare_invalidation") else None},
        "registration_term_end": form.get("registration_term_end") or None,
        "agent": form.get("agent") or None,
        "confirmations": {"pledgor": bool(form.get("confirm_pledgor")), "pledgee": bool(form.get("confirm_pledgee"))},
    }


@login_required
def application_new(request):
    if not _can_file(request.user):
        return _denied(request)
    error, form = None, {}
    if request.method == "POST":
        current_channel.set("web")
        form = request.POST.dict()
        try:
            app = services.file_application(actor=request.user, data=application_from_form(form),
                                            idempotency_key=form.get("form_token", ""))
        except DomainError as exc:
            error = exc
        else:
            return redirect("registry:application_detail", application_no=app.application_no)
    else:
        org = request.user.organisation
        if org is not None and org.kind == "bank":
            form = {"pledgee_name": org.name, "pledgee_id_number": org.uscc or "", "pledgee_id_type": "uscc"}
        elif org is not None and org.kind == "enterprise":
            form = {"pledgor_name": org.name, "pledgor_id_number": org.uscc or "", "pledgor_id_type": "uscc"}
        import secrets

        form["form_token"] = secrets.token_hex(12)
    return render(request, "registry/application_form.html", {"form": form, "error": error, "kinds": KIND_LABELS,
                                                              "id_types": IdType.choices},
                  status=400 if error else 200)


@login_required
def application_detail(request, application_no: str):
    try:
        app = services.get_application(actor=request.user, application_no=application_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    error = None
    if request.method == "POST":
        current_channel.set("web")
        action = request.POST.get("action")
        try:
            if action == "declare":
                services.declare(actor=request.user, application_no=application_no,
                                 proceed=request.POST.get("continue") == "1")
            elif action == "withdraw":
                services.withdraw(actor=request.user, application_no=application_no)
            elif action == "confirm":
                services.confirm(actor=request.user, application_no=application_no,
                                 side=request.POST.get("side", ""),
                                 signed_contract_ref=request.POST.get("signed_contract_ref", ""))
            elif action == "correct":
                form = request.POST
                changes = {"confirmations": {"pledgor": bool(form.get("confirm_pledgor")),
                                             "pledgee": bool(form.get("confirm_pledgee"))}}
                if form.get("agent"):
                    changes["agent"] = form["agent"]
                if form.get("registration_term_end"):
                    changes["registration_term_end"] = form["registration_term_end"]
                if form.get("co_owner_consents"):
                    changes["co_owner_consents"] = application_from_form(form)["co_owner_consents"]
                services.correct(actor=request.user, application_no=application_no, changes=changes)
        except DomainError as exc:
            error = exc
        else:
            return redirect("registry:application_detail", application_no=application_no)
    out = application_out(app)
    return render(request, "registry/application.html", {"a": out, "app": app, "error": error,
                                                         "statuses": STATUS_LABELS, "reason_labels": REASON_LABELS,
                                                         "can_confirm": services.sides_actor_may_confirm(
                                                             request.user, app)},
                  status=400 if error else 200)


@login_required
def registrar_queue(request):
    if not perm.is_registrar(request.user):
        return _denied(request)
    return render(request, "registry/queue.html", {"apps": review.queue(request.user)[:500], "statuses": STATUS_LABELS})


@login_required
def review_case(request, application_no: str):
    if not perm.is_registrar(request.user):
        return _denied(request)
    try:
        app = services.get_application(actor=request.user, application_no=application_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    error = None
    if request.method == "POST":
        current_channel.set("web")
        try:
            if request.POST.get("proposal_id"):
                review.decide(actor=request.user, proposal_id=int(request.POST["proposal_id"]),
                              accept=request.POST.get("accept") == "1")
            else:
                review.propose(actor=request.user, application_no=application_no,
                               action=request.POST.get("action", ""), reason=request.POST.get("reason", ""),
                               code=request.POST.get("code", ""))
        except (DomainError, ValueError) as exc:
            error = exc if isinstance(exc, DomainError) else PermissionDenied(str(exc))
        else:
            return redirect("registry:review_case", application_no=application_no)
    pending = app.proposals.filter(decided_at__isnull=True).select_related("proposed_by").first()
    return render(request, "registry/review.html", {
        "a": application_out(app), "app": app, "pending": pending, "error": error, "statuses": STATUS_LABELS,
        "proposals": app.proposals.filter(decided_at__isnull=False).select_related("proposed_by", "decided_by"),
        "kinds": KIND_LABELS,
        "pledge": Pledge.objects.filter(application=app).first(), "actions": ReviewProposal.Action.choices},
        status=400 if error else 200)


def registration_stats(request):
    return render(request, "registry/stats.html", {"data": stats.registration_time(), "kinds": KIND_LABELS})


@login_required
def notifications(request):
    items = Notification.objects.restrict(request.user, "view")[:200]
    return render(request, "registry/notifications.html", {"items": items})
