"""Teach drf-spectacular Tendril's key authentication, so /api/docs/ shows how to authenticate."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
