"""Teach drf-spectacular Tendril's key authentication, so /api/docs/ shows how to authenticate,
and to group operations by the resource they act on."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class SecretKeyScheme(OpenApiAuthenticationExtension):
    target_class = "workspaces.api.authentication.SecretKeyAuthentication"
    name = "secretKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A workspace secret key (`tds_…`): `Authorization: Bearer <key>`.",
        }


class WriteKeyScheme(OpenApiAuthenticationExtension):
    """Matches the ingestion authenticators too (they subclass WriteKeyAuthentication)."""

    target_class = "workspaces.api.authentication.WriteKeyAuthentication"
    match_subclasses = True
    name = "writeKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "basic",
            "description": "A workspace write key (`tdw_…`) as the HTTP Basic username, password empty "
            "(Segment's scheme); or `writeKey` in the JSON body.",
        }


# Resources grouped under an app's prefix (/api/v1/messaging/…, /api/v1/scoring/…) take their
# tag from the part after it; the Segment-compatible ingestion (/v1/…) is one resource.
GROUPED_PREFIXES = {"messaging", "scoring"}
INGESTION_TAG = "Ingestion (Segment-compatible)"
TAG_NAMES = {
    "sms-templates": "SMS templates",
    "sto-report": "Broadcasts",
    "models": "Scoring models",
    "scoring/contacts": "Contact scores",
    "messaging/settings": "Sending settings",
    "scoring/integrations": "Lead handoff (Slack, CRM)",
}


def resource_tag(path: str) -> str:
    """The tag of an operation at `path`: the resource it acts on, as a reader names it
    ("Email templates", "Webhook deliveries"), never the version prefix ("api", "v1")."""
    parts = [part for part in path.strip("/").split("/") if part and not part.startswith("{")]
    if parts[:1] == ["v1"]:
        return INGESTION_TAG
    if parts[:2] == ["api", "v1"]:
        parts = parts[2:]
    if not parts:
        return "API"
    resource = parts[0]
    if resource in GROUPED_PREFIXES and len(parts) > 1:
        grouped = f"{parts[0]}/{parts[1]}"
        resource = grouped if grouped in TAG_NAMES else parts[1]
    return TAG_NAMES.get(resource) or resource.replace("-", " ").capitalize()


class ResourceTaggedSchema(AutoSchema):
    """drf-spectacular's schema with one tag per resource (its default tags by the first
    path part: everything landed under "api" and "v1"). `@extend_schema(tags=…)` still wins."""

    def get_tags(self) -> list[str]:
        return [resource_tag(self.path)]
