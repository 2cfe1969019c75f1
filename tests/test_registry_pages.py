"""Registry pages: filing in the browser form, status, public search and record, certificates, queue."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.registry.models import Pledge

from .conftest import PASSWORD
from .registry_fixtures import BANK_USCC, PLEDGOR, make_patent

pytestmark = pytest.mark.django_db


def login(make_user, role, kind, username, org=None):
    make_user(role, kind, username=username, org=org)
    client = Client()
    client.post("/login/", {"username": username, "password": PASSWORD})
    return client


@pytest.fixture
def bank_org(make_org):
    return make_org("bank", name="示范商业银行股份有限公司", uscc=BANK_USCC)


def file_and_confirm(make_user, make_org, bank_org, username, form):
    """The bank files in the form; the pledgor's own user confirms on the application page."""
    ent = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR["id_number"])
    pledgor_user = login(make_user, "enterprise_user", "enterprise", f"{username}-pledgor", org=ent)
    client = login(make_user, "bank_officer", "bank", username, org=bank_org)
    r = client.post("/registry/applications/new/", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    pledgor = pledgor_user
    page = pledgor.get(r.url).content.decode()
    assert 'data-testid="confirm-pledgor"' in page
    assert pledgor.post(r.url, {"action": "confirm", "side": "pledgor"}).status_code == 302
    return client, r.url


def form(**over) -> dict:
    """The filing form as a bank officer submits it: the pledgor picked from the register, its patent
    ticked, the pledgee the officer's own bank (fixed)."""
    from ippledge.core.models import Organisation
    from ippledge.rights.models import Right

    body = {"pledgor": f"uscc:{PLEDGOR['id_number']}", "pledgor_address": PLEDGOR["address"],
            "rights": [str(Right.objects.get(kind="invention").pk)],
            "pledgee": str(Organisation.objects.get(uscc=BANK_USCC).pk), "pledgee_address": "北京市西城区",
            "debt_type": "流动资金贷款", "debt_amount": "3000000", "currency": "CNY", "debt_due_date": "2027-06-30",
            "guarantee_scope": "主债权及利息", "contract_no": "HT-1", "confirm_pledgor": "on", "confirm_pledgee": "on",
            "form_token": "t1"}
    body.update(over)
    return body


def test_bank_files_in_the_form_and_sees_registration(make_user, make_org, bank_org):
    make_patent()
    ent = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR["id_number"])
    pledgor = login(make_user, "enterprise_user", "enterprise", "pledgor-user", org=ent)
    client = login(make_user, "bank_officer", "bank", "officer", org=bank_org)
    assert client.get("/registry/applications/new/").status_code == 200
    r = client.post("/registry/applications/new/", form())
    assert r.status_code == 302, r.content.decode()[:2000]
    waiting = client.get(r.url).content.decode()
    assert 'data-testid="awaiting-confirmation"' in waiting and 'data-testid="confirm-pledgor"' not in waiting
    url = r.url
    assert 'data-testid="confirm-pledgor"' in pledgor.get(url).content.decode()
    assert pledgor.post(url, {"action": "confirm", "side": "pledgor"}).status_code == 302
    page = client.get(url).content.decode()
    reg = Pledge.objects.get().registration_no
    assert reg in page and 'data-testid="registered"' in page
    pdf = client.get(f"/registry/pledges/{reg}/notice.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_form_shows_inline_errors(make_user, bank_org):
    make_patent()
    client = login(make_user, "bank_officer", "bank", "officer2", org=bank_org)
    r = client.post("/registry/applications/new/", form(debt_amount="three million", rights=[]))
    assert r.status_code == 400
    page = r.content.decode()
    assert page.count('class="field-error"') >= 2
    assert "secured_debt" not in page and "rights[" not in page


def test_public_search_record_and_certificate_pages(make_user, make_org, bank_org):
    make_patent()
    file_and_confirm(make_user, make_org, bank_org, "officer3", form())
    reg = Pledge.objects.get().registration_no
    public = Client()
    page = public.get("/registry/?right=2014103620773").content.decode()
    assert reg in page
    assert public.get(f"/registry/pledges/{reg}/").status_code == 200
    r = public.post("/registry/certificates/new/", {"right": "ZL201410362077.3"})
    assert r.status_code == 302
    verify = public.get(r.url)
    assert verify.status_code == 200 and 'data-testid="certificate"' in verify.content.decode()
    number = r.url.split("no=")[1].split("&")[0]
    code = r.url.split("code=")[1]
    pdf = public.get(f"/registry/certificates/{number}.pdf?code={code}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_registrar_queue_and_maker_checker(make_user, make_org, bank_org):
    from ippledge.core import services
    from ippledge.core.actors import SYSTEM
    from ippledge.rights import services as rights

    make_patent(events=[{"type": "invalidation_requested", "date": "2025-01-01"}])
    file_and_confirm(make_user, make_org, bank_org, "officer4", form(declare_invalidation="on"))
    pledge = Pledge.objects.get()
    office = make_org("ip_office", name="知识产权局")
    maker = services.create_user(actor=SYSTEM, username="maker", password=PASSWORD, org_id=office.pk,
                                 roles=["registrar"])
    services.create_user(actor=SYSTEM, username="checker", password=PASSWORD, org_id=office.pk, roles=["registrar"])
    assert maker
    m, c = Client(), Client()
    m.post("/login/", {"username": "maker", "password": PASSWORD})
    c.post("/login/", {"username": "checker", "password": PASSWORD})
    app_no = pledge.application.application_no
    assert app_no in m.get("/registry/queue/").content.decode()
    r = m.post(f"/registry/queue/{app_no}/", {"action": "revoke", "reason": "伪造材料"})
    assert r.status_code == 302
    pending = m.get(f"/registry/queue/{app_no}/").content.decode()
    assert 'data-testid="pending-proposal"' in pending
    proposal_id = pledge.application.proposals.get().pk
    same = m.post(f"/registry/queue/{app_no}/", {"proposal_id": proposal_id, "accept": "1"})
    assert same.status_code == 400 and 'data-error-code="checker_must_differ"' in same.content.decode()
    ok = c.post(f"/registry/queue/{app_no}/", {"proposal_id": proposal_id, "accept": "1"})
    assert ok.status_code == 302
    pledge.refresh_from_db()
    assert pledge.status == "revoked"
    assert rights  # imported for fixtures
