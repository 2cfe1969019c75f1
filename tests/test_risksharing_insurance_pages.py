"""The insurer issues an infringement-loss or enforcement policy on an enterprise's rights from the policies
page (issue 13 point 3): the product (its own rights products only), the policyholder by USCC, the rights
one a line, the sum insured and the term; refusals in words next to the fields; another insurer's product
refused; a bank user may read the page but not issue (403)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.risksharing import services_insurance as insurance
from ippledge.risksharing.models import InsurancePolicy

from .conftest import PASSWORD, uscc

HOLDER = uscc("91440101MA59PQRPA")
OTHER = uscc("91440101MA59PQRPB")
PATENT = "ZL201510362077.8"
PATENT_2 = "ZL201610362077.2"
PAGE = "/risk-sharing/insurance/policies/"


class World:
    def __init__(self):
        from ippledge.rights import services as rights

        self.insurer = core.create_organisation(actor=SYSTEM, name="页面甲财产保险", kind="insurer")
        self.insurer_b = core.create_organisation(actor=SYSTEM, name="页面乙财产保险", kind="insurer")
        self.bank = core.create_organisation(actor=SYSTEM, name="页面保险测试银行", kind="bank")
        self.holder = core.create_organisation(actor=SYSTEM, name="页面保险甲科技", kind="enterprise", uscc=HOLDER)
        self.other = core.create_organisation(actor=SYSTEM, name="页面保险乙科技", kind="enterprise", uscc=OTHER)
        self.users = {}
        for name, org, role in (("ins", self.insurer, "insurer_user"), ("ins_b", self.insurer_b, "insurer_user"),
                                ("officer", self.bank, "bank_officer"), ("ent", self.holder, "enterprise_user")):
            self.users[name] = core.create_user(actor=SYSTEM, username=f"insp-{name}", password=PASSWORD,
                                                org_id=org.pk, roles=[role])
        for number in (PATENT, PATENT_2):
            rights.create_right(actor=SYSTEM, data={"kind": "invention", "number": number, "owners": [
                {"name": "页面保险甲科技", "id_type": "uscc", "id_number": HOLDER}],
                "filing_date": "2015-07-28", "grant_date": "2017-01-01"})
        self.product = self._product(self.users["ins"], "知识产权侵权损失保险", "infringement_loss")
        self.enforcement = self._product(self.users["ins"], "知识产权执行保险", "enforcement")
        self.loan_product = insurance.create_product(actor=self.users["ins"], data={
            "name": "贷款保证保险", "policy_type": "loan_guarantee", "premium_rate": "0.02", "coverage_ratio": "0.6"})
        self.foreign = self._product(self.users["ins_b"], "乙公司侵权险", "infringement_loss")

    @staticmethod
    def _product(user, name, policy_type):
        return insurance.create_product(actor=user, data={"name": name, "policy_type": policy_type,
                                                          "premium_rate": "0.015", "coverage_ratio": "0.8"})

    def client(self, who: str) -> Client:
        client = Client()
        client.force_login(self.users[who])
        return client

    def body(self, **extra) -> dict:
        return {"action": "rights", "product": str(self.product.pk), "enterprise_uscc": HOLDER,
                "rights": f"invention {PATENT}\n\n发明专利 {PATENT_2}\n", "sum_insured": "1,000,000",
                "term_months": "12", **extra}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield World()
        transaction.set_rollback(True)


@pytest.fixture
def w(world, db):
    return world


def test_the_insurer_sees_the_rights_form_with_only_its_own_rights_products(w):
    page = w.client("ins").get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="rights-form"' in html
    form = html[html.index('data-testid="rights-form"'):]
    assert "知识产权侵权损失保险" in form and "知识产权执行保险" in form
    assert "乙公司侵权险" not in form
    rights_select = form[form.index('name="product"'):form.index("</select>", form.index('name="product"'))]
    assert "贷款保证保险" not in rights_select


def test_the_insurer_issues_a_policy_on_several_rights(w):
    r = w.client("ins").post(PAGE, w.body())
    assert r.status_code == 302, r.content.decode()[:3000]
    policy = InsurancePolicy.objects.get(pk=int(r.url.rstrip("/").rsplit("/", 1)[1]))
    assert (policy.policy_type, policy.enterprise_id, policy.status, policy.sum_insured, policy.term_months) == (
        "infringement_loss", w.holder.pk, "active", 100_000_000, 12)
    assert policy.rights == [{"kind": "invention", "number": PATENT.removeprefix("ZL")},
                             {"kind": "invention", "number": PATENT_2.removeprefix("ZL")}]
    detail = w.client("ins").get(r.url)
    assert detail.status_code == 200 and policy.policy_no in detail.content.decode()
    # The policyholder reads it on its policies page.
    assert policy.policy_no in w.client("ent").get(PAGE).content.decode()


def test_an_enforcement_policy_starting_later(w):
    from ippledge.core import business_date
    from ippledge.core.calendar import add_months

    start = add_months(business_date.today(), 1)
    r = w.client("ins").post(PAGE, w.body(product=str(w.enforcement.pk), rights=f"invention {PATENT}",
                                          start_date=start.isoformat(), term_months=""))
    assert r.status_code == 302, r.content.decode()[:3000]
    policy = InsurancePolicy.objects.get(pk=int(r.url.rstrip("/").rsplit("/", 1)[1]))
    assert (policy.policy_type, policy.start_date, policy.term_months) == ("enforcement", start, 12)


def _errors(response) -> str:
    html = response.content.decode()
    return html[html.index('data-testid="rights-form"'):]


@pytest.mark.parametrize("change, words", [
    ({"enterprise_uscc": "91440101MA59PQRZZZ"}, "平台上没有该统一社会信用代码的企业"),
    ({"enterprise_uscc": OTHER}, 'data-error-code="right_not_held"'),
    ({"enterprise_uscc": OTHER}, "第 1 行："),
    ({"rights": f"invention {PATENT}\ninvention ZL201710362077.7"}, 'data-error-code="right_not_found"'),
    ({"rights": f"invention {PATENT}\ninvention ZL201710362077.7"}, "第 2 行："),
    ({"rights": "invention"}, "第 1 行：请填写权利类型及其编号。"),
    ({"rights": "  \n "}, 'id="rights_rights-error"'),
    ({"sum_insured": "-5"}, 'id="rights_sum_insured-error"'),
    ({"sum_insured": "a lot"}, 'id="rights_sum_insured-error"'),
    ({"term_months": "500"}, 'id="rights_term_months-error"'),
    ({"start_date": "2001-01-01"}, 'id="rights_start_date-error"'),
    ({"product": ""}, 'id="rights_product-error"'),
])
def test_bad_input_is_refused_in_words(w, change, words):
    before = InsurancePolicy.objects.count()
    r = w.client("ins").post(PAGE, w.body(**change))
    assert r.status_code == 400
    html = _errors(r)
    assert words in html, html[:3000]
    assert "field-error" in html or "alert-error" in html
    assert InsurancePolicy.objects.count() == before


@pytest.mark.parametrize("product", ["foreign", "loan_product"])
def test_another_insurers_product_or_a_loan_product_is_refused(w, product):
    before = InsurancePolicy.objects.count()
    r = w.client("ins").post(PAGE, w.body(product=str(getattr(w, product).pk)))
    assert r.status_code == 400
    html = _errors(r)
    assert 'id="rights_product-error"' in html and "field-error" in html
    assert InsurancePolicy.objects.count() == before


def test_a_bank_user_reads_the_page_but_may_not_issue(w):
    client = w.client("officer")
    page = client.get(PAGE)
    assert page.status_code == 200 and 'data-testid="rights-form"' not in page.content.decode()
    before = InsurancePolicy.objects.count()
    assert client.post(PAGE, w.body()).status_code == 403
    assert InsurancePolicy.objects.count() == before
    # The enterprise may not issue either.
    assert w.client("ent").post(PAGE, w.body()).status_code == 403
