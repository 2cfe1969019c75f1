"""The one permission vocabulary (issue 10, point 12): role first, then organisation."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from ippledge.core import permissions as perm
from ippledge.core import services
from ippledge.core.actors import SYSTEM
from ippledge.core.errors import NotAuthenticated, PermissionDenied
from ippledge.core.roles import Role

pytestmark = pytest.mark.django_db


def test_anonymous_is_asked_to_sign_in_before_any_role_question():
    for check in (lambda a: perm.require_user(a), lambda a: perm.require_admin(a),
                  lambda a: perm.require_role(a, (Role.BANK_OFFICER,))):
        with pytest.raises(NotAuthenticated):
            check(AnonymousUser())
        with pytest.raises(NotAuthenticated):
            check(None)


def test_role_then_organisation(make_user, make_org):
    officer = make_user("bank_officer")
    other_bank = make_org("bank", name="另一银行")
    perm.require_member(officer, officer.organisation, (Role.BANK_OFFICER,))
    with pytest.raises(PermissionDenied):
        perm.require_member(officer, officer.organisation, (Role.BANK_APPROVER,))
    with pytest.raises(PermissionDenied):
        perm.require_member(officer, other_bank, (Role.BANK_OFFICER,))
    admin = make_user("admin")
    perm.require_member(admin, other_bank, (Role.BANK_APPROVER,))


def test_a_head_office_acts_for_its_branch_but_not_the_other_way(make_user):
    head_officer = make_user("bank_officer")
    head = head_officer.organisation
    branch = services.create_organisation(actor=SYSTEM, name="支行", kind="bank")
    branch.parent = head
    branch.save(update_fields=["parent"])
    branch_officer = make_user("bank_officer", username="branch-officer", org=branch)
    assert perm.belongs_to(head_officer, branch)
    assert not perm.belongs_to(branch_officer, head)


def test_registrars_act_for_their_own_office_only(make_user):
    ip_registrar = make_user("registrar", org_kind="ip_office")
    cr_registrar = make_user("registrar", org_kind="copyright_office", username="cr-registrar")
    perm.require_office(ip_registrar, {"invention", "trademark"})
    with pytest.raises(PermissionDenied) as refused:
        perm.require_office(ip_registrar, {"software"})
    assert refused.value.code == "not_your_office"
    perm.require_office(cr_registrar, {"software"})
    with pytest.raises(PermissionDenied):
        perm.require_office(make_user("bank_officer"), {"invention"})
