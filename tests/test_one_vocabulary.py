"""One permission vocabulary, and each app writing only its own rows (issue 10, point 12).

Three scans of ``src/ippledge`` (migrations aside):

1. no raw role name: every role is a :class:`~ippledge.core.roles.Role` member, or a group of them from
   :mod:`ippledge.core.permissions`, never the string ``"registrar"``;
2. no private permission helper: the role and sign-in questions are asked through the ``require_*``
   family of ``core.permissions``, never a module's own ``_require_*`` (a ``_require_*`` that asks a
   state or party question of one object — ``_require_live``, ``_require_pledge_party`` — is that
   object's service's own business and passes), and no module reaches into another's ``_require_*``;
3. no module writes (``.objects.create`` … ``.delete``) a model of another app: it calls that app's
   services.

Files that still break a rule are listed below with the reason; an entry that no longer needs its
place fails too, so the lists only shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from ippledge.core.roles import Role

SRC = Path(__file__).resolve().parent.parent / "src" / "ippledge"

# --- allow-lists: files other helpers own, to be converted by them (the lead removes each line) ------
RAW_ROLES_ALLOWED: dict[str, str] = {
    # Not a role: issue 13 names the risk-sharing party kind `appraiser` (an appraisal agency sharing the
    # loss), the same word as the appraiser role.
    "risksharing/models.py": "PartyKind.APPRAISER, the API's party kind `appraiser`",
    "risksharing/engine/allocation.py": "the engine's party kinds, as the API spells them",
}
PRIVATE_REQUIRE_ALLOWED = {
}
FOREIGN_WRITES_ALLOWED: dict[str, str] = {
}

ROLE_NAMES = frozenset(Role.values)
CORE_FAMILY = {"require_user", "require_admin", "require_role", "require_member", "require_office",
               "require_registrar", "office_keeps", "has_any_role", "belongs_to", "is_user", "is_registrar",
               "is_regulator"}
# What a helper reads when it asks the role or sign-in question itself.
ROLE_QUESTIONS = {"has_role", "role_set", "is_platform_admin", "is_authenticated", "NotAuthenticated"}
WRITES = {"create", "bulk_create", "bulk_update", "update", "get_or_create", "update_or_create", "delete"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if "migrations" in rel.parts:
            continue
        yield rel.as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _is_private_require(name: str) -> bool:
    return name == "_require" or name.startswith("_require_")


def raw_role_names(rel: str, tree: ast.Module) -> list[str]:
    if rel == "core/roles.py":
        return []
    return [f"{rel}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ROLE_NAMES]


def private_permission_helpers(rel: str, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name in CORE_FAMILY and rel != "core/permissions.py":
                found.append(f"{rel}:{node.lineno} defines {node.name} (core.permissions has it)")
            elif _is_private_require(node.name):
                asked = {n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(node)
                         if isinstance(n, ast.Attribute | ast.Name)} & ROLE_QUESTIONS
                if asked:
                    found.append(f"{rel}:{node.lineno} {node.name} asks {sorted(asked)} itself")
        elif isinstance(node, ast.Attribute) and _is_private_require(node.attr) \
                and isinstance(node.value, ast.Name):
            found.append(f"{rel}:{node.lineno} reaches into {node.value.id}.{node.attr}")
    return found


def _app_of(rel: str) -> str:
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else ""


def _imported_models(rel: str, tree: ast.Module) -> dict[str, str]:
    """Local name → the app whose ``models`` module it was imported from (``from .models import X``
    included, and imports inside functions)."""
    names = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = (node.module or "").split(".")
        if node.level:
            package = ["ippledge", *rel.split("/")[:-1]]
            module = package[:len(package) - (node.level - 1)] + [m for m in module if m]
        if len(module) >= 3 and module[0] == "ippledge" and module[-1] == "models":
            for alias in node.names:
                names[alias.asname or alias.name] = module[1]
    return names


def foreign_writes(rel: str, tree: ast.Module) -> list[str]:
    models = _imported_models(rel, tree)
    own = _app_of(rel)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES):
            continue
        receiver = node.func.value
        while isinstance(receiver, ast.Call | ast.Attribute):  # Model.objects.filter(...).update(...)
            if isinstance(receiver, ast.Attribute) and receiver.attr == "objects":
                base = receiver.value
                app = models.get(base.id) if isinstance(base, ast.Name) else None
                if app is not None and app != own:
                    found.append(f"{rel}:{node.lineno} {app}.{base.id}.objects…{node.func.attr}")
                break
            receiver = receiver.func if isinstance(receiver, ast.Call) else receiver.value
    return found


SCANS = [
    ("raw role names", raw_role_names, RAW_ROLES_ALLOWED),
    ("private permission helpers", private_permission_helpers, PRIVATE_REQUIRE_ALLOWED),
    ("writes to another app's models", foreign_writes, FOREIGN_WRITES_ALLOWED),
]


@pytest.mark.parametrize(("what", "scan", "allowed"), SCANS, ids=[s[0] for s in SCANS])
def test_the_rule_holds_outside_the_allow_list(what, scan, allowed):
    found = [hit for rel, tree in modules() if rel not in allowed for hit in scan(rel, tree)]
    assert not found, f"{what}:\n" + "\n".join(found)


@pytest.mark.parametrize(("what", "scan", "allowed"), SCANS, ids=[s[0] for s in SCANS])
def test_every_allow_list_entry_is_still_needed(what, scan, allowed):
    trees = dict(modules())
    stale = [rel for rel in allowed if rel not in trees or not scan(rel, trees[rel])]
    assert not stale, f"{what}: these files now keep the rule; remove them from the allow-list: {stale}"


def test_the_scans_see_what_they_look_for():
    """Each scan flags the pattern it is written for (so a passing suite means something)."""
    code = ast.parse(
        "from ippledge.core.models import Organisation\n"
        "from .models import Loan\n"
        "def _require_bank(actor):\n"
        "    if not actor.has_role('bank_officer'):\n"
        "        raise PermissionDenied()\n"
        "def _require_live(loan):\n"
        "    if loan.closed:\n"
        "        raise Conflict()\n"
        "def act(actor):\n"
        "    services._require_bank(actor)\n"
        "    Organisation.objects.filter(pk=1).update(name='x')\n"
        "    Loan.objects.create()\n")
    assert raw_role_names("credit/x.py", code) == ["credit/x.py:4 'bank_officer'"]
    helpers = private_permission_helpers("credit/x.py", code)
    assert [h.split(" ", 1)[1] for h in helpers] == ["_require_bank asks ['has_role'] itself",
                                                     "reaches into services._require_bank"]
    assert foreign_writes("credit/x.py", code) == ["credit/x.py:11 core.Organisation.objects…update"]


# --- the vocabulary's answers are the same in every app ------------------------------------------------

@pytest.mark.django_db
def test_a_registrar_of_another_office_is_refused_alike_by_the_register_and_the_registry(make_user):
    """The rights register asked its own question (``permission_denied``); it now asks core's, so a
    copyright-office registrar recording a patent reads the registry's ``not_your_office``."""
    from django.utils.translation import gettext

    from ippledge.core.errors import PermissionDenied
    from ippledge.rights import services as rights

    registrar = make_user("registrar", org_kind="copyright_office")
    body = {"kind": "invention", "number": "ZL201410362077.3", "title": "一种数据传输方法", "filing_date": "2014-07-28",
            "owners": [{"name": "深圳示范科技有限公司", "id_type": "uscc", "id_number": "914403001922038216"}]}
    with pytest.raises(PermissionDenied) as refused:
        rights.create_right(actor=registrar, data=body)
    assert refused.value.code == "not_your_office"
    assert refused.value.message == gettext(rights.WRITER_REFUSED)  # the register's own words


def test_the_system_actor_holds_role_members():
    from ippledge.core import permissions as perm
    from ippledge.core.actors import SYSTEM

    assert SYSTEM.role_set == {Role.ADMIN} and all(isinstance(r, Role) for r in SYSTEM.role_set)
    assert perm.is_registrar(SYSTEM) and perm.has_any_role(SYSTEM, perm.BANK_STAFF)


@pytest.mark.django_db
def test_an_organisation_is_created_with_its_profile_through_the_core_service():
    """The demo wrote size class, industry, head office and the demo flag with Organisation.objects.update
    (no audit); the core service takes them, so no other app writes core's rows."""
    from ippledge.core import services
    from ippledge.core.actors import SYSTEM
    from ippledge.core.errors import ValidationFailed
    from ippledge.core.models import AuditEntry

    head = services.create_organisation(actor=SYSTEM, name="示范银行", kind="bank")
    branch = services.create_organisation(actor=SYSTEM, name="示范银行南山支行", kind="bank", parent=head,
                                          is_demo=True)
    firm = services.create_organisation(actor=SYSTEM, name="示范科技", kind="enterprise", size_class="small",
                                        industry="C39")
    assert (branch.parent_id, branch.is_demo, firm.size_class, firm.industry) == (head.pk, True, "small", "C39")
    audited = AuditEntry.objects.get(action="org.create", object_id=str(firm.pk)).after
    assert audited["size_class"] == "small" and audited["industry"] == "C39"
    for wrong in ({"size_class": "huge"}, {"industry": "C39;DROP"}, {"parent": firm}):
        with pytest.raises(ValidationFailed):
            services.create_organisation(actor=SYSTEM, name="错误机构", kind="bank", **wrong)
