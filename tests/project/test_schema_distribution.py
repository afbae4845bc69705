"""The schema stays ready to be sharded by workspace (Citus; docs/scaling.md "PostgreSQL").

Read from the migrated test database (pg_catalog) and from the models:

1. every table is a tenant table (a NOT NULL `workspace_id`) or a listed global table;
2. every unique constraint / unique index of a tenant table includes `workspace_id`;
3. no global table references a tenant table (Citus refuses reference → distributed FKs);
4. every foreign key between tenant tables is workspace-consistent — it includes
   `workspace_id` on both sides — or is listed below with the composite key the move needs;
5. every model with a `workspace` foreign key inherits the tenant base (or is listed).

The lists are today's exceptions, each with its fix; a new table, index or key that breaks
a rule fails here until it is fixed or knowingly listed (and docs/scaling.md's estimate
follows). An entry that no longer exists fails too, so the lists only shrink.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from workspaces.models import TenantModel

pytestmark = pytest.mark.django_db

# Global data: reference tables (copied to every node) or local tables on the coordinator.
GLOBAL_TABLES = {
    "workspaces_workspace": "reference: the tenants themselves",
    "workspaces_user": "reference: a person logs in before choosing a workspace",
    "workspaces_user_groups": "reference (Django auth)",
    "workspaces_user_user_permissions": "reference (Django auth)",
    "auth_group": "reference (Django auth)",
    "auth_group_permissions": "reference (Django auth)",
    "auth_permission": "reference (Django auth)",
    "django_content_type": "reference (Django)",
    "django_session": "local on the coordinator, or sessions in the cache",
    "django_migrations": "local on the coordinator",
    "axes_accessattempt": "local: login lockout, per address and user",
    "axes_accessattemptexpiration": "local: login lockout",
    "axes_accessfailurelog": "local: login lockout",
    "axes_accesslog": "local: login lockout",
}

# Tables that should carry workspace_id and do not yet.
NOT_YET_TENANT = {
    "scoring_assignmentrule_reps": (
        "Django's automatic many-to-many table of AssignmentRule.reps: an explicit through "
        "model on TenantModel (workspace_id, rule_id, user_id), unique(workspace_id, rule_id, "
        "user_id)"
    ),
}

# Tenant tables that become reference tables (global lookups before the workspace is known),
# so a unique key without workspace_id is right for them.
TENANT_TABLES_MADE_REFERENCE = {
    "workspaces_apikey": "looked up by unique(key_hash) on every API call: a reference table",
    "workspaces_invitation": "looked up by unique(token_hash) from the link: a reference table",
}

# Unique indexes of tenant tables without workspace_id: index name → the fix (none today:
# every unique key of a tenant table already leads with or includes workspace_id).
UNIQUE_WITHOUT_WORKSPACE: dict[str, str] = {}

# Foreign keys between tenant tables on one column (Django's ForeignKey): "table.column" →
# referenced table. The move makes each (workspace_id, column) → table(workspace_id, id),
# after that table's primary key became (workspace_id, id) (docs/scaling.md). A new one is
# added here knowingly — or, better, made composite when its table is created.
SINGLE_COLUMN_FKS: dict[str, str] = {
    "analytics_attributedconversion.contact_id": "contacts_contact",
    "analytics_contactweek.contact_id": "contacts_contact",
    "commerce_productpartner.partner_id": "commerce_product",
    "commerce_productpartner.product_id": "commerce_product",
    "commerce_productactivity.contact_id": "contacts_contact",
    "commerce_productactivity.product_id": "commerce_product",
    "commerce_purchase.contact_id": "contacts_contact",
    "commerce_purchase.product_id": "commerce_product",
    "commerce_recommendation.contact_id": "contacts_contact",
    "commerce_reorderprediction.contact_id": "contacts_contact",
    "commerce_reorderprediction.product_id": "commerce_product",
    "predictions_predictionmodel.published_run_id": "predictions_trainingrun",
    "predictions_trainingrun.model_id": "predictions_predictionmodel",
    "contacts_contactanonymousid.contact_id": "contacts_contact",
    "contacts_formsubmission.contact_id": "contacts_contact",
    "contacts_formsubmission.form_id": "contacts_form",
    "messaging_broadcast.ab_winner_id": "messaging_broadcastvariant",
    "messaging_broadcast.email_template_id": "messaging_emailtemplate",
    "messaging_broadcast.sms_template_id": "messaging_smstemplate",
    "messaging_broadcast.topic_id": "messaging_topic",
    "messaging_broadcastvariant.broadcast_id": "messaging_broadcast",
    "messaging_broadcastvariant.email_template_id": "messaging_emailtemplate",
    "messaging_consentlog.contact_id": "contacts_contact",
    "messaging_emailtemplate.current_version_id": "messaging_templateversion",
    "messaging_emailtemplate.layout_id": "messaging_layout",
    "messaging_emailtemplate.topic_id": "messaging_topic",
    "messaging_message.broadcast_id": "messaging_broadcast",
    "messaging_message.contact_id": "contacts_contact",
    "messaging_message.email_version_id": "messaging_templateversion",
    "messaging_message.sms_version_id": "messaging_smstemplateversion",
    "messaging_message.topic_id": "messaging_topic",
    "messaging_message.variant_id": "messaging_broadcastvariant",
    "messaging_messagingsettings.brand_logo_id": "messaging_mediaasset",
    "messaging_smstemplate.current_version_id": "messaging_smstemplateversion",
    "messaging_smstemplate.topic_id": "messaging_topic",
    "messaging_smstemplateversion.template_id": "messaging_smstemplate",
    "messaging_smstemplateversion.topic_id": "messaging_topic",
    "messaging_templateversion.layout_id": "messaging_layout",
    "messaging_templateversion.template_id": "messaging_emailtemplate",
    "messaging_templateversion.topic_id": "messaging_topic",
    "messaging_topicoptout.contact_id": "contacts_contact",
    "messaging_topicoptout.topic_id": "messaging_topic",
    "outbound_webhookdelivery.endpoint_id": "outbound_webhookendpoint",
    "outbound_webhookdelivery.replay_of_id": "outbound_webhookdelivery",
    "scoring_contactscore.contact_id": "contacts_contact",
    "scoring_contactscore.model_id": "scoring_scoringmodel",
    "scoring_deal.contact_id": "contacts_contact",
    "scoring_leadactivity.contact_id": "contacts_contact",
    "scoring_notification.contact_id": "contacts_contact",
    "scoring_rulebackfill.rule_id": "scoring_scoringrule",
    "scoring_salestask.contact_id": "contacts_contact",
    "scoring_scorechange.contact_id": "contacts_contact",
    "scoring_scorechange.model_id": "scoring_scoringmodel",
    "scoring_scorechange.rule_id": "scoring_scoringrule",
    "scoring_scoringrule.model_id": "scoring_scoringmodel",
    "segments_segmentmembership.contact_id": "contacts_contact",
    "segments_segmentmembership.segment_id": "segments_segment",
    "segments_segmentmembershipchange.contact_id": "contacts_contact",
    "segments_segmentmembershipchange.segment_id": "segments_segment",
    "segments_segmentsizesnapshot.segment_id": "segments_segment",
    "workflows_steplog.contact_id": "contacts_contact",
    "workflows_steplog.run_id": "workflows_workflowrun",
    "workflows_steplog.workflow_id": "workflows_workflow",
    "workflows_workflow.current_version_id": "workflows_workflowversion",
    "workflows_workflowrun.contact_id": "contacts_contact",
    "workflows_workflowrun.version_id": "workflows_workflowversion",
    "workflows_workflowrun.workflow_id": "workflows_workflow",
    "workflows_workflowversion.workflow_id": "workflows_workflow",
}

# Models with a `workspace` foreign key that do not inherit TenantModel.
NOT_TENANT_MODELS = {
    "contacts.ContactAnonymousId": (
        "an index table kept by a trigger on contacts_contact (no timestamps, never written "
        "by the application); it carries workspace_id and its unique key includes it"
    ),
    "contacts.EventMessage": (
        "the event stream's messageId claims: a composite primary key (workspace_id, "
        "message_id), no id and no timestamps, written only by contacts.services.events"
    ),
}

TABLES_SQL = """
SELECT c.relname,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
               AND a.attname = 'workspace_id' AND NOT a.attisdropped) AS has_workspace,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
               AND a.attname = 'workspace_id' AND a.attnotnull AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

UNIQUE_SQL = """
SELECT t.relname, i.relname,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) k JOIN pg_attribute a
             ON a.attrelid = t.oid AND a.attnum = k) AS columns
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND x.indisunique AND NOT x.indisprimary AND NOT t.relispartition
  AND NOT i.relispartition
"""

FKS_SQL = """
SELECT src.relname, dst.relname,
       ARRAY(SELECT a.attname FROM unnest(f.conkey) k JOIN pg_attribute a
             ON a.attrelid = f.conrelid AND a.attnum = k) AS columns
FROM pg_constraint f
JOIN pg_class src ON src.oid = f.conrelid
JOIN pg_class dst ON dst.oid = f.confrelid
JOIN pg_namespace n ON n.oid = src.relnamespace
WHERE f.contype = 'f' AND n.nspname = 'public' AND NOT src.relispartition
  AND f.conparentid = 0
"""


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _tables() -> dict[str, tuple[bool, bool]]:
    return {name: (has, notnull) for name, has, notnull in _rows(TABLES_SQL)}


def _tenant_tables() -> set[str]:
    return {name for name, (has, _) in _tables().items() if has} - set(TENANT_TABLES_MADE_REFERENCE)


def test_every_table_is_a_tenant_table_or_a_listed_global_one():
    tables = _tables()
    unclassified = sorted(
        name
        for name, (has_workspace, _) in tables.items()
        if not has_workspace and name not in GLOBAL_TABLES and name not in NOT_YET_TENANT
    )
    assert unclassified == [], (
        f"tables without workspace_id: {unclassified} — give them the tenant base "
        "(workspaces.models.TenantModel) or, for global data, list them in GLOBAL_TABLES with why"
    )
    nullable = sorted(name for name, (has, notnull) in tables.items() if has and not notnull)
    assert nullable == [], "workspace_id must be NOT NULL"
    gone = sorted(set(GLOBAL_TABLES) | set(NOT_YET_TENANT) | set(TENANT_TABLES_MADE_REFERENCE))
    assert [name for name in gone if name not in tables] == []
    assert [name for name in NOT_YET_TENANT if tables[name][0]] == [], "fixed: drop the entry"


def test_every_unique_key_of_a_tenant_table_includes_workspace_id():
    tenant = _tenant_tables()
    found = {
        index: columns
        for table, index, columns in _rows(UNIQUE_SQL)
        if table in tenant and "workspace_id" not in columns
    }
    new = {
        index: columns for index, columns in found.items() if index not in UNIQUE_WITHOUT_WORKSPACE
    }
    assert new == {}, (
        "a unique key of a tenant table must include workspace_id (Citus enforces uniqueness "
        f"per node): unique(x) → unique(workspace_id, x). Found: {new}"
    )
    assert sorted(set(UNIQUE_WITHOUT_WORKSPACE) - set(found)) == [], "fixed: drop the entry"


def test_no_global_table_references_a_tenant_table():
    tenant = _tenant_tables()
    wrong = sorted(
        f"{src}.{'/'.join(columns)} → {dst}"
        for src, dst, columns in _rows(FKS_SQL)
        if dst in tenant and src not in tenant and src not in NOT_YET_TENANT
    )
    assert wrong == [], "a global (reference) table cannot reference a distributed table"


def test_every_foreign_key_between_tenant_tables_is_workspace_consistent_or_listed():
    tenant = _tenant_tables()
    single = {}
    for src, dst, columns in _rows(FKS_SQL):
        if src in tenant and dst in tenant and "workspace_id" not in columns:
            single[f"{src}.{'/'.join(columns)}"] = dst
    new = {key: dst for key, dst in single.items() if SINGLE_COLUMN_FKS.get(key) != dst}
    assert new == {}, (
        "a foreign key between tenant tables must include workspace_id on both sides "
        "((workspace_id, x_id) → t(workspace_id, id)), or be listed in SINGLE_COLUMN_FKS "
        f"with the others the move will make composite (docs/scaling.md). Found: {new}"
    )
    assert sorted(set(SINGLE_COLUMN_FKS) - set(single)) == [], "fixed or gone: drop the entry"


def test_every_model_with_a_workspace_inherits_the_tenant_base():
    stray = sorted(
        model._meta.label
        for model in apps.get_models()
        if any(field.name == "workspace" and field.is_relation for field in model._meta.fields)
        and not issubclass(model, TenantModel)
        and model._meta.label not in NOT_TENANT_MODELS
    )
    assert stray == [], "inherit workspaces.models.TenantModel (scoping, RLS, timestamps)"
