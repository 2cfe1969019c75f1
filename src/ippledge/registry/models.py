"""The pledge registry: applications and their decisions, registered pledges with versions and
history, objections, search certificates, the tamper-evident journal and its signed checkpoints,
notifications and webhooks.

Everything that happens is appended (decisions, versions, history events, journal entries); the
few mutable columns (an application's status, a pledge's status) are summaries of that history.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ippledge.core.querysets import RestrictedQuerySet
from ippledge.core.roles import Role


class Regime(models.TextChoices):
    PATENT = "patent", _("Patent")
    TRADEMARK = "trademark", _("Trademark")
    COPYRIGHT = "copyright", _("Copyright")
    DISCLOSURE = "disclosure", _("Disclosure only")


# The regimes each office examines (patents, trademarks and disclosure-only rights at the IP office).
OFFICE_REGIMES = {"ip_office": (Regime.PATENT, Regime.TRADEMARK, Regime.DISCLOSURE),
                  "copyright_office": (Regime.COPYRIGHT,)}


class ApplicationStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    REFUSED = "refused", _("Refused")
    CORRECTION_REQUIRED = "correction_required", _("Correction required")
    AWAITING_DECLARATION = "awaiting_declaration", _("Awaiting declaration")
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting the other party's confirmation")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ABANDONED = "abandoned", _("Deemed abandoned")


OPEN_STATUSES = (ApplicationStatus.CORRECTION_REQUIRED, ApplicationStatus.AWAITING_DECLARATION,
                 ApplicationStatus.AWAITING_CONFIRMATION)


class PledgeApplication(models.Model):
    application_no = models.CharField(max_length=20, unique=True)
    regime = models.CharField(max_length=16, choices=Regime.choices)
    status = models.CharField(max_length=24, choices=ApplicationStatus.choices)
    # The application as filed, then as corrected: parties, debt, scope, declarations, confirmations.
    data = models.JSONField()
    filed_at = models.DateTimeField()
    filing_date = models.DateField(help_text=_("Business date of filing (Beijing)"))
    filed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    filed_by_org = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    on_behalf = models.BooleanField(default=False, help_text=_("Filed by a registrar for a paper applicant"))
    idempotency_key = models.CharField(max_length=100, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    correction_deadline = models.DateField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    needs_review = models.BooleanField(default=False, db_index=True)
    # A correction that changes what the parties agreed starts a new round: earlier confirmations lapse.
    confirmation_round = models.PositiveSmallIntegerField(default=1)
    rights = models.ManyToManyField("rights.Right", through="ApplicationRight", related_name="+")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-filed_at"]
        constraints = [
            models.UniqueConstraint(fields=["filed_by", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="application_idempotency_unique"),
        ]

    def __str__(self) -> str:
        return self.application_no

    @classmethod
    def scope(cls, user, action):
        if user.has_role(Role.REGISTRAR):
            # A registrar sees the applications its own office examines.
            org = user.organisation
            return Q(regime__in=OFFICE_REGIMES.get(org.kind if org else "", ()))
        if user.organisation_id is None:
            return False
        if action == "view":
            return Q(filed_by_org_id=user.organisation_id) | Q(parties__org_id=user.organisation_id)
        return Q(filed_by_org_id=user.organisation_id)


class ApplicationRight(models.Model):
    application = models.ForeignKey(PledgeApplication, on_delete=models.CASCADE, related_name="application_rights")
    right = models.ForeignKey("rights.Right", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["application", "position"]
        constraints = [models.UniqueConstraint(fields=["application", "right"], name="application_right_unique")]


class ApplicationParty(models.Model):
    """Index of the organisations named in an application, for scoping who may see it."""

    application = models.ForeignKey(PledgeApplication, on_delete=models.CASCADE, related_name="parties")
    org = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16)


class ApplicationConfirmation(models.Model):
    """One party's confirmation of a joint application (registry-rules: pledgor and pledgee apply together).

    A body can never speak for another party: each organisation on the platform confirms through its
    own users; a registrar confirms for a party that is not on the platform, from the signed contract.
    Insert-only.
    """

    class Via(models.TextChoices):
        FILER = "filer", _("By filing")
        PARTY = "party", _("By the party's user")
        CONTRACT = "contract", _("By signing the credit contract")
        PAPER = "paper", _("By a registrar, from the signed contract")

    application = models.ForeignKey(PledgeApplication, on_delete=models.PROTECT, related_name="confirmations")
    side = models.CharField(max_length=8, choices=[("pledgor", _("Pledgor")), ("pledgee", _("Pledgee"))])
    # The confirming party's organisation; empty for a registrar's paper confirmation of the off-platform
    # parties of a side.
    org = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    via = models.CharField(max_length=8, choices=Via.choices)
    round = models.PositiveSmallIntegerField(default=1)
    user = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    signed_contract_ref = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["application", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "round", "side", "org"], condition=Q(org__isnull=False),
                                    name="confirmation_once_per_party"),
            models.UniqueConstraint(fields=["application", "round", "side"], condition=Q(org__isnull=True),
                                    name="paper_confirmation_once_per_side"),
        ]


class Decision(models.Model):
    """Every examination outcome and registrar decision on an application, in order.  Insert-only."""

    application = models.ForeignKey(PledgeApplication, on_delete=models.PROTECT, related_name="decisions")
    at = models.DateTimeField()
    outcome = models.CharField(max_length=24)
    reasons = models.JSONField(default=list)
    notes = models.JSONField(default=list)
    snapshot = models.JSONField(default=dict, help_text=_("Each right's legal state on the filing date"))
    automatic = models.BooleanField(default=True)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    checker = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason_text = models.TextField(blank=True)

    class Meta:
        ordering = ["application", "id"]


class PledgeStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    CANCELLED = "cancelled", _("Cancelled")
    LAPSED = "lapsed", _("Lapsed")
    REVOKED = "revoked", _("Revoked")


class Pledge(models.Model):
    registration_no = models.CharField(max_length=24, unique=True)
    official_registration_no = models.CharField(max_length=64, blank=True)
    application = models.OneToOneField(PledgeApplication, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="pledge")
    regime = models.CharField(max_length=16, choices=Regime.choices)
    disclosure_only = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=PledgeStatus.choices, default=PledgeStatus.REGISTERED)
    # Priority is the registration instant; it never changes after registration (Civil Code 414).
    registered_at = models.DateTimeField(db_index=True)
    effective_date = models.DateField()
    official_effective_date = models.DateField(null=True, blank=True)
    registration_term_end = models.DateField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    current_version = models.PositiveIntegerField(default=1)
    # Denormalised from the current version for search and display; integer fen like every amount.
    secured_amount = models.BigIntegerField(_("secured amount (fen)"))
    currency = models.CharField(max_length=3, default="CNY")
    notes = models.JSONField(default=list, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["registered_at", "id"]

    def __str__(self) -> str:
        return self.registration_no

    @classmethod
    def scope_anonymous(cls, action):
        return action == "view"

    @classmethod
    def scope(cls, user, action):
        return action == "view" or user.has_role(Role.REGISTRAR)


class PledgeRight(models.Model):
    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="pledge_rights")
    right = models.ForeignKey("rights.Right", on_delete=models.PROTECT, related_name="pledge_links")
    live = models.BooleanField(default=True)
    # Patents admit one live pledge; this flag plus the partial unique index makes the database
    # refuse a second one even when two registrations race.
    exclusive = models.BooleanField(default=False)

    class Meta:
        ordering = ["pledge", "id"]
        constraints = [
            models.UniqueConstraint(fields=["right"], condition=Q(live=True, exclusive=True),
                                    name="one_live_patent_pledge"),
            models.UniqueConstraint(fields=["pledge", "right"], name="pledge_right_unique"),
        ]


class PledgeParty(models.Model):
    """Parties of the current version, indexed for public search by name and identifier."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(max_length=10)  # pledgor | pledgee | debtor
    name = models.CharField(max_length=200)
    name_normalised = models.CharField(max_length=200, db_index=True)
    id_type = models.CharField(max_length=16)
    id_number = models.CharField(max_length=64, db_index=True)
    org = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["pledge", "role", "id"]


class PledgeVersion(models.Model):
    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    at = models.DateTimeField()
    data = models.JSONField()
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["pledge", "version"]
        constraints = [models.UniqueConstraint(fields=["pledge", "version"], name="pledge_version_unique")]


class PledgeEvent(models.Model):
    """The public history of a registered pledge.  Insert-only."""

    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="history")
    type = models.CharField(max_length=32)
    at = models.DateTimeField(db_index=True)
    date = models.DateField()
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["pledge", "at", "id"]


class Objection(models.Model):
    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="objections")
    filed_at = models.DateTimeField()
    filed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    objector_name = models.CharField(max_length=200)
    statement = models.TextField()
    expires_on = models.DateField(null=True, blank=True, help_text=_("Empty once a case-acceptance notice is attached"))
    case_notice_ref = models.CharField(max_length=200, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["pledge", "filed_at"]


class SearchCertificate(models.Model):
    certificate_no = models.CharField(max_length=24, unique=True)
    verification_code = models.CharField(max_length=32)
    issued_at = models.DateTimeField()
    criteria = models.JSONField()
    as_of = models.DateTimeField()
    results = models.JSONField()

    class Meta:
        ordering = ["-issued_at"]


class JournalEntry(models.Model):
    """Hash chain over every registry event: hash = SHA-256(prev_hash + canonical JSON of the event)."""

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    ref = models.CharField(max_length=40, db_index=True)
    payload = models.JSONField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]


class Checkpoint(models.Model):
    """A signed statement of the journal head at the end of a business date."""

    date = models.DateField(unique=True)
    seq = models.PositiveBigIntegerField()
    head = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    signature = models.CharField(max_length=128)
    public_key = models.CharField(max_length=64)

    class Meta:
        ordering = ["-date"]


class Notification(models.Model):
    org = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    @classmethod
    def scope(cls, user, action):
        return Q(org_id=user.organisation_id) if user.organisation_id else False


class Webhook(models.Model):
    org = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField()
    secret = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    @classmethod
    def scope(cls, user, action):
        return Q(org_id=user.organisation_id) if user.organisation_id else False


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["created_at"]


class ReviewProposal(models.Model):
    """Maker-checker: a registrar proposes a refusal or revocation; a different registrar confirms."""

    class Action(models.TextChoices):
        REFUSE = "refuse", _("Refuse")
        REVOKE = "revoke", _("Revoke")
        CLEAR = "clear", _("Clear from queue")

    application = models.ForeignKey(PledgeApplication, on_delete=models.PROTECT, related_name="proposals")
    action = models.CharField(max_length=8, choices=Action.choices)
    code = models.CharField(max_length=32, blank=True)
    reason = models.TextField()
    proposed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    accepted = models.BooleanField(null=True)

    class Meta:
        ordering = ["-proposed_at"]
