"""The "who": organisations, users and memberships.

A membership grants one role, on a territory (everything below it, found through the territory's
stored delimited path), on an organisation (with its subsidiaries), or nationally for the national
roles. The scope a principal reads and writes in is computed once, in ``accounts.scoping``.
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from marsad.territories.models import Territory

from .choices import COUNCIL_KINDS, NATIONAL_ROLES, OrganisationKind, Role


class Organisation(models.Model):
    code = models.CharField(
        _("identifiant d'échange"),
        max_length=40,
        unique=True,
        help_text=_("Identifiant stable utilisé dans les échanges, par exemple MA-ALOMRANE-CS."),
    )
    kind = models.CharField(_("type"), max_length=24, choices=OrganisationKind.choices)
    name_fr = models.CharField(_("nom (français)"), max_length=200)
    name_ar = models.CharField(_("nom (arabe)"), max_length=200)
    acronym = models.CharField(_("sigle"), max_length=40, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subsidiaries",
        verbose_name=_("organisation mère"),
    )
    territory = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("territoire"),
    )
    search_text = models.CharField(max_length=500, editable=False, blank=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values), name="organisation_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(code__startswith="MA-") & Q(code=Upper("code")),
                name="organisation_code_scheme",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=COUNCIL_KINDS) | Q(territory__isnull=False),
                name="organisation_council_has_territory",
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=models.F("id")),
                name="organisation_not_own_parent",
            ),
            models.CheckConstraint(condition=~Q(name_fr="") & ~Q(name_ar=""), name="organisation_named"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_fr}"

    def name(self, language: str | None) -> str:
        return self.name_ar if (language or "").startswith("ar") else self.name_fr


class User(AbstractUser):
    """A person. What they may see and do comes from their memberships, never from flags here
    (``is_staff``/``is_superuser`` only open Django's admin)."""

    class Meta(AbstractUser.Meta):
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        swappable = "AUTH_USER_MODEL"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("rôle"), max_length=24, choices=Role.choices)
    territory = models.ForeignKey(
        Territory, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("territoire")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("organisation"),
    )

    class Meta:
        verbose_name = _("rôle attribué")
        verbose_name_plural = _("rôles attribués")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_known"),
            # One grant of a role per user and scope (null scopes compared as equal).
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(territory__isnull=True, organisation__isnull=True),
                name="membership_unique_national",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "territory"],
                condition=Q(territory__isnull=False, organisation__isnull=True),
                name="membership_unique_territory",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "organisation"],
                condition=Q(territory__isnull=True, organisation__isnull=False),
                name="membership_unique_organisation",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "territory", "organisation"],
                condition=Q(territory__isnull=False, organisation__isnull=False),
                name="membership_unique_territory_organisation",
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.TERRITORIAL_OFFICER) | Q(territory__isnull=False),
                name="membership_territorial_officer_has_territory",
            ),
            models.CheckConstraint(
                condition=~Q(role__in=[Role.OPERATOR_STEWARD, Role.PARTNER_VIEWER])
                | Q(organisation__isnull=False),
                name="membership_steward_and_partner_have_organisation",
            ),
            models.CheckConstraint(
                condition=~Q(role__in=NATIONAL_ROLES) | Q(territory__isnull=True, organisation__isnull=True),
                name="membership_national_roles_are_national",
            ),
        ]

    def __str__(self) -> str:
        on = self.territory or self.organisation or _("national")
        return f"{self.user} — {self.get_role_display()} — {on}"
