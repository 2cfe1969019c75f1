"""The registry and register pages as a person uses them (issue 11.2, 11.5, 11.8, 11.11, 11.14): the
pledgor picked from the register, its rights ticked, errors next to their fields in the user's
language, a review that chooses no decision, Beijing times, and the home page's search going to
pledges first."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from ippledge.core.models import Organisation
from ippledge.registry.models import Pledge, PledgeApplication
from ippledge.rights.models import Right

from .conftest import PASSWORD
from .registry_fixtures import BANK_USCC, PLEDGOR, PLEDGOR_USCC, make_patent

pytestmark = pytest.mark.django_db

NEW = "/registry/applications/new/"


def login(make_user, role, kind, username, org=None, lang=None):
    make_user(role, kind, username=username, org=org)
    client = Client()
    if lang:
        client.cookies["django_language"] = lang
    client.post("/login/", {"username": username, "password": PASSWORD})
    return client


@pytest.fixture
def orgs(make_org):
    bank = make_org("bank", name="示范商业银行股份有限公司", uscc=BANK_USCC)
    ent = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR_USCC)
    return bank, ent


def filing(**over) -> dict:
    body = {"pledgor": f"uscc:{PLEDGOR_USCC}", "pledgor_address": PLEDGOR["address"],
            "rights": [str(Right.objects.get(kind="invention").pk)],
            "pledgee": str(Organisation.objects.get(uscc=BANK_USCC).pk), "pledgee_address": "北京市西城区",
            "debt_type": "流动资金贷款", "debt_amount": "3000000", "currency": "CNY", "debt_due_date": "2027-06-30",
            "guarantee_scope": "主债权及利息", "contract_no": "HT-1", "confirm_pledgor": "on", "confirm_pledgee": "on",
            "form_token": "tok"}
    body.update(over)
    return body


def zh(message: str) -> str:
    """What a Chinese page shows for a message (the English text until the catalog translates it)."""
    with translation.override("zh-hans"):
        return translation.gettext(message)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_bank_officer_finds_the_pledgor_by_name_or_uscc_and_ticks_its_rights(make_user, orgs):
    make_patent()
    officer = login(make_user, "bank_officer", "bank", "officer", org=orgs[0])
    start = officer.get(NEW).content.decode()
    assert 'data-testid="pledgor-search"' in start and 'data-testid="application-form"' not in start
    for query in ("示范科技", PLEDGOR_USCC[:10]):
        found = officer.get(NEW, {"pledgor_q": query}).content.decode()
        assert PLEDGOR["name"] in found and f"?pledgor=uscc%3A{PLEDGOR_USCC}" in found
    assert PLEDGOR["name"] not in officer.get(NEW, {"pledgor_q": "无此公司"}).content.decode()
    chosen = officer.get(NEW, {"pledgor": f"uscc:{PLEDGOR_USCC}"}).content.decode()
    rows = text(chosen)
    # The patent as a person reads it: kind, number as written, title and legal state, in Chinese.
    assert "发明专利" in rows and "ZL201410362077.3" in rows and "一种数据传输方法" in rows and "有效" in rows
    assert 'name="rights"' in chosen and 'type="checkbox"' in chosen
    assert "示范商业银行股份有限公司" in chosen  # the pledgee is the officer's own bank, fixed
    assert PLEDGOR["address"] in chosen  # the address as the register recorded it


def test_enterprise_files_for_its_own_organisation_only(make_user, orgs):
    make_patent()
    user = login(make_user, "enterprise_user", "enterprise", "ent", org=orgs[1])
    page = user.get(NEW, {"pledgor_q": "银行"}).content.decode()
    assert 'data-testid="pledgor-search"' not in page and PLEDGOR["name"] in page
    assert 'data-testid="application-form"' in page
    # Naming another pledgor in the form is ignored: the enterprise is the pledgor.
    r = user.post(NEW, filing(pledgor="uscc:91110000100000589X", confirm_pledgee=""))
    assert r.status_code == 302
    app = PledgeApplication.objects.get()
    assert app.data["pledgors"][0]["id_number"] == PLEDGOR_USCC


def test_form_errors_sit_next_to_fields_in_both_languages(make_user, orgs):
    make_patent()
    chinese = login(make_user, "bank_officer", "bank", "officer-zh", org=orgs[0])
    r = chinese.post(NEW, filing(rights=[], debt_amount="", debt_due_date="2020-13-40"))
    assert r.status_code == 400
    page = r.content.decode()
    assert page.count('class="field-error"') >= 3
    assert zh("Tick at least one right to pledge.") in text(page)
    for internal in ("pledgors[0]", "secured_debt", "rights[", "validation_error"):
        assert internal not in text(page)
    en = login(make_user, "bank_officer", "bank", "officer-en", org=orgs[0], lang="en")
    page = en.post(NEW, filing(rights=[])).content.decode()
    assert "Tick at least one right to pledge." in page


def test_service_refusal_is_shown_next_to_the_field_without_paths(make_user, orgs):
    make_patent()
    officer = login(make_user, "bank_officer", "bank", "officer", org=orgs[0], lang="en")
    # Due before today: the service refuses it with a field error on debt_due_date.
    r = officer.post(NEW, filing(debt_due_date="2001-01-01"))
    assert r.status_code == 400
    page = r.content.decode()
    assert 'id="id_debt_due_date-error"' in page or "field-error" in page
    assert "debt_due_date:" not in text(page)


def test_application_page_shows_what_was_filed(make_user, orgs):
    make_patent()
    officer = login(make_user, "bank_officer", "bank", "officer", org=orgs[0])
    r = officer.post(NEW, filing())
    assert r.status_code == 302
    page = text(officer.get(r.url).content.decode())
    assert f"3,000,000.00 {zh('yuan')}" in page
    assert zh("Beijing time") in page and "UTC" not in page
    assert "发明专利 ZL201410362077.3 一种数据传输方法" in page
    assert PLEDGOR["name"] in page and "示范商业银行股份有限公司" in page


def _registered_for_review(make_user, orgs):
    make_patent(events=[{"type": "invalidation_requested", "date": "2025-01-01"}])
    officer = login(make_user, "bank_officer", "bank", "officer", org=orgs[0])
    pledgor = login(make_user, "enterprise_user", "enterprise", "pledgor", org=orgs[1])
    r = officer.post(NEW, filing(declare_invalidation="on"))
    assert r.status_code == 302
    assert pledgor.post(r.url, {"action": "confirm", "side": "pledgor"}).status_code == 302
    return PledgeApplication.objects.get()


def test_review_page_chooses_no_decision(make_user, orgs):
    app = _registered_for_review(make_user, orgs)
    registrar = login(make_user, "registrar", "ip_office", "registrar")
    url = f"/registry/queue/{app.application_no}/"
    page = registrar.get(url).content.decode()
    select = re.search(r'<select id="r-action".*?</select>', page, re.S).group(0)
    assert '<option value="" selected' in select or " selected" not in select
    r = registrar.post(url, {"action": "", "reason": "伪造材料"})
    assert r.status_code == 400
    assert zh("Choose a decision.") in text(r.content.decode())
    assert not app.proposals.exists()


def test_queue_and_applications_are_listings_with_export(make_user, orgs):
    app = _registered_for_review(make_user, orgs)
    registrar = login(make_user, "registrar", "ip_office", "registrar")
    page = registrar.get("/registry/queue/").content.decode()
    assert app.application_no in page and 'data-testid="listing-count"' in page and zh("Beijing time") in page
    csv = registrar.get("/registry/queue/?export=csv")
    assert csv.status_code == 200 and app.application_no in csv.content.decode("utf-8-sig")
    officer = Client()
    officer.post("/login/", {"username": "officer", "password": PASSWORD})
    mine = officer.get("/registry/applications/?status=registered").content.decode()
    assert app.application_no in mine
    assert app.application_no not in officer.get("/registry/applications/?status=refused").content.decode()


def test_certificate_page_shows_beijing_time(make_user, orgs):
    _registered_for_review(make_user, orgs)
    public = Client()
    r = public.post("/registry/certificates/new/", {"right": "ZL201410362077.3"})
    assert r.status_code == 302
    page = text(public.get(r.url).content.decode())
    assert zh("Beijing time") in page and "UTC" not in page
    assert "right=" not in page  # criteria are labelled, not key=value
    bad = public.get("/registry/certificates/verify/?no=CX2026&code=")
    assert bad.status_code == 400 and "field-error" in bad.content.decode()


def test_home_search_goes_to_pledges_first(make_user, orgs):
    _registered_for_review(make_user, orgs)
    reg = Pledge.objects.get().registration_no
    public = Client()
    home = public.get("/").content.decode()
    hero = re.search(r'<form class="search-hero".*?</form>', home, re.S).group(0)
    assert 'action="/registry/"' in hero
    assert 'data-testid="hero-rights"' in home  # the rights register comes second
    for query in (reg, "ZL201410362077.3", PLEDGOR["name"], PLEDGOR_USCC):
        page = public.post("/registry/", {"q": query}).content.decode()
        assert reg in page, query


def test_rights_register_links_a_pledged_rights_live_pledges(make_user, orgs):
    _registered_for_review(make_user, orgs)
    reg = Pledge.objects.get().registration_no
    page = Client().get("/rights/").content.decode()
    assert f'href="/registry/pledges/{reg}/"' in page
    assert "发明专利" in text(page)


def test_new_right_form_errors_name_no_internal_paths(make_user):
    office = login(make_user, "registrar", "ip_office", "registrar", lang="en")
    r = office.post("/rights/new/", {"kind": "invention", "number": "ZL201410362077.3", "filing_date": "2014-07-28",
                                      "owner_name": "某公司", "owner_id_type": "uscc",
                                      "owner_id_number": "914403001922038217"})
    assert r.status_code == 400
    page = r.content.decode()
    assert 'id="id_owner_id_number-error"' in page
    assert "owners[0]" not in page


def test_certificate_and_notice_pdfs_print_labels_not_codes(make_user, orgs):
    import io

    from pypdf import PdfReader

    _registered_for_review(make_user, orgs)
    reg = Pledge.objects.get().registration_no
    public = Client()
    r = public.post("/registry/certificates/new/", {"right": "ZL201410362077.3"})
    number = r.url.split("no=")[1].split("&")[0]
    code = r.url.split("code=")[1]
    for url in (f"/registry/certificates/{number}.pdf?code={code}", f"/registry/pledges/{reg}/notice.pdf"):
        body = public.get(url).content
        printed = "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
        printed = re.sub(r"[\s\x00]+", "", printed)
        assert "元" in printed and "ZL201410362077.3" in printed, url
        for raw in ("registered", "invention", "CNY", "UTC"):
            assert raw not in printed, (url, raw)
