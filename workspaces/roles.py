"""Roles and what each may do. One table, read by the HTML decorator and the API permission."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    SALES = "sales", "Sales"
    VIEWER = "viewer", "Viewer"


class Capability(StrEnum):
    VIEW = "view"  # read anything in the workspace
    EDIT_CONTACTS = "edit_contacts"  # contacts, imports, tags, notes
    DELETE_CONTACTS = "delete_contacts"  # delete a contact and all its history, for good
    EDIT_MARKETING = "edit_marketing"  # segments, templates, workflows, forms, broadcasts
    WORK_LEADS = "work_leads"  # accept / disqualify / log calls / tasks on leads
    MANAGE_WORKSPACE = "manage_workspace"  # members, invitations, API keys, settings


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.OWNER: frozenset(Capability),
    Role.ADMIN: frozenset(Capability),
    Role.MARKETER: frozenset(
        {
            Capability.VIEW,
            Capability.EDIT_CONTACTS,
            Capability.DELETE_CONTACTS,
            Capability.EDIT_MARKETING,
            Capability.WORK_LEADS,
        }
    ),
    Role.SALES: frozenset({Capability.VIEW, Capability.EDIT_CONTACTS, Capability.WORK_LEADS}),
    Role.VIEWER: frozenset({Capability.VIEW}),
}


def role_can(role: str, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES.get(role, frozenset())
