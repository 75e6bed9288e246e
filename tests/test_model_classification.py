"""Every model is classified SHARED (public schema only), TENANT (every brokerage's schema only) or BOTH
(its app is in SHARED_APPS and TENANT_APPS: one table for operators, one per brokerage), and the
database agrees. A new model fails here until someone decides where its rows live."""
from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

SHARED, TENANT, BOTH = "shared", "tenant", "both"

CLASSIFICATION = {
    # platform: brokerages, their domains, provisioning, the platform's audit trail and task records
    "tenancy.Brokerage": SHARED,
    "tenancy.Domain": SHARED,
    "tenancy.PlatformAuditEvent": SHARED,
    "provisioning.ProvisioningJob": SHARED,
    "provisioning.ProvisioningStep": SHARED,
    "provisioning.SchemaBlueprint": SHARED,
    "provisioning.MigrationRun": SHARED,
    "provisioning.TenantMigrationResult": SHARED,
    "authtoken.Token": SHARED,
    "authtoken.TokenProxy": SHARED,
    "django_dramatiq.Task": SHARED,
    # sanctions lists as published: platform-wide reference data, screened against by every brokerage
    "sanctions.SanctionsList": SHARED,
    "sanctions.SanctionsEntry": SHARED,
    "sanctions.SanctionsAlias": SHARED,
    "sanctions.SanctionsAddress": SHARED,
    # identity, sessions and permissions: operators in public, each brokerage's own users in its schema
    "contenttypes.ContentType": BOTH,
    "auth.Permission": BOTH,
    "auth.Group": BOTH,
    "auth.Group_permissions": BOTH,
    "sessions.Session": BOTH,
    "identity.User": BOTH,
    "identity.User_groups": BOTH,
    "identity.User_user_permissions": BOTH,
    "identity.User_roles": BOTH,
    "identity.Role": BOTH,
    "identity.Device": BOTH,
    "identity.Team": BOTH,
    "identity.StaffInvite": BOTH,
    "identity.StaffInvite_roles": BOTH,
    "identity.ApiToken": BOTH,
    # one brokerage's own data
    "account.EmailAddress": TENANT,
    "account.EmailConfirmation": TENANT,
    "mfa.Authenticator": TENANT,
    "socialaccount.SocialApp": TENANT,
    "socialaccount.SocialAccount": TENANT,
    "socialaccount.SocialToken": TENANT,
    "audit.AuditEntry": TENANT,
    "crm.ClientRecord": TENANT,
    "crm.ConsentRecord": TENANT,
    "crm.CrmPolicy": TENANT,
    "crm.RoutingRule": TENANT,
    "crm.TeamRoutingCursor": TENANT,
    "crm.StageTransition": TENANT,
    "crm.Task": TENANT,
    "crm.ClientNote": TENANT,
    "crm.TeamWorkingHours": TENANT,
    "crm.LeadImport": TENANT,
    "partners.Partner": TENANT,
    "partners.PartnerLink": TENANT,
    "partners.ClientAssignment": TENANT,
    "partners.ReassignmentRequest": TENANT,
    "partners.ReferralLink": TENANT,
    "partners.PartnerPolicy": TENANT,
    "partners.MarketingMaterial": TENANT,
    "compliance.KycCase": TENANT,
    "compliance.ClientProfile": TENANT,
    "compliance.KycDocument": TENANT,
    "kyc_checks.ScreeningCheck": TENANT,
    "kyc_checks.RiskAssessment": TENANT,
    "kyc_checks.ComplianceTask": TENANT,
    "kyc_checks.ClientNotice": TENANT,
    "kyc_checks.VendorConfig": TENANT,
    "kyc_checks.VendorWebhook": TENANT,
    "ledger.LedgerAccount": TENANT,
    "ledger.JournalEntry": TENANT,
    "ledger.JournalLine": TENANT,
    "ledger.Hold": TENANT,
    "usersessions.UserSession": TENANT,
    "themes.Theme": TENANT,
    "brokerage.LegalEntity": TENANT,
    "brokerage.AccountType": TENANT,
    "brokerage.PaymentProviderConfig": TENANT,
    "brokerage.TradingServerConfig": TENANT,
    "trading.TradingAccount": TENANT,
    "trading.AccountSnapshot": TENANT,
    "trading.Position": TENANT,
    "trading.Deal": TENANT,
    "trading.SyncState": TENANT,
    "trading.LeverageRequest": TENANT,
    "trading.DriftReport": TENANT,
    "payments.WebhookEvent": TENANT,
    "payments.PspCredentials": TENANT,
    "payments.MoneyRules": TENANT,
    "payments.PaymentMethod": TENANT,
    "payments.PaymentMethod_legal_entities": TENANT,  # which legal entities' clients see a method
    "payments.Deposit": TENANT,
    "payments.Withdrawal": TENANT,
    "payments.WithdrawalApproval": TENANT,
    "payments.MoneyEvent": TENANT,
    "payments.Transfer": TENANT,
    "payments.Adjustment": TENANT,
    "payments.Discrepancy": TENANT,
    "payments.BankStatementImport": TENANT,
    "payments.IncomingWire": TENANT,
    # notifications: every message to a brokerage's users and their channel choices
    "notifications.Notification": TENANT,
    "notifications.NotificationPreference": TENANT,
    # commissions: a brokerage's IB plans, the engine's accruals and runs, approvals and payouts
    "commissions.CommissionPlan": TENANT,
    "commissions.PlanVersion": TENANT,
    "commissions.CommissionRule": TENANT,
    "commissions.PlanAssignment": TENANT,
    "commissions.CommissionRun": TENANT,
    "commissions.CommissionApproval": TENANT,
    "commissions.CommissionPayout": TENANT,
    "commissions.CommissionAccrual": TENANT,
    # support: a brokerage's tickets, their messages and attachments, and its help articles
    "support.Ticket": TENANT,
    "support.TicketMessage": TENANT,
    "support.TicketAttachment": TENANT,
    "support.Article": TENANT,
    # automation: saved segments, rules, working hours, runs and the actions taken (once per rule, client, trigger)
    "automation.Segment": TENANT,
    "automation.AutomationRule": TENANT,
    "automation.AutomationSettings": TENANT,
    "automation.AutomationRun": TENANT,
    "automation.AutomationAction": TENANT,
    # reports: the report builder's saved definitions and export jobs (tenant_apps/reports)
    "reports.SavedReport": TENANT,
    "reports.ReportJob": TENANT,
    # queues: who holds which queue item, and each queue's SLA in the brokerage
    "queues.QueueClaim": TENANT,
    "queues.QueueSetting": TENANT,
}

# Tables no model owns: django-tenants keeps a migration record in every schema.
UNOWNED_TABLES = {"django_migrations"}

MODELS = {m._meta.label: m for m in apps.get_models(include_auto_created=True)}


def _where_settings_put(model) -> str:
    name = model._meta.app_config.name
    shared, tenant = name in settings.SHARED_APPS, name in settings.TENANT_APPS
    assert shared or tenant, f"{name} is in neither SHARED_APPS nor TENANT_APPS"
    return BOTH if shared and tenant else SHARED if shared else TENANT


def _tables(classes: set[str]) -> set[str]:
    return {m._meta.db_table for label, m in MODELS.items()
            if CLASSIFICATION.get(label) in classes and m._meta.managed and not m._meta.proxy}


def _tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_every_installed_model_is_classified_and_nothing_else_is():
    unclassified = sorted(set(MODELS) - set(CLASSIFICATION))
    stale = sorted(set(CLASSIFICATION) - set(MODELS))
    assert not unclassified, f"classify these models as SHARED, TENANT or BOTH: {unclassified}"
    assert not stale, f"these classified models no longer exist: {stale}"


@pytest.mark.parametrize("label", sorted(MODELS))
def test_the_classification_agrees_with_shared_and_tenant_apps(label):
    assert CLASSIFICATION.get(label) == _where_settings_put(MODELS[label])


def test_the_public_schema_holds_every_shared_table_and_no_tenant_table(db, tenants):
    tables = _tables_in("public")
    assert _tables({SHARED, BOTH}) <= tables, "a shared table is missing from public"
    leaked = tables & _tables({TENANT})
    assert not leaked, f"tenant tables in public (the search path would fall through to them): {leaked}"
    assert tables <= _tables({SHARED, BOTH}) | UNOWNED_TABLES, "public holds a table no shared model owns"


@pytest.mark.parametrize("schema", ["alpha", "beta", settings.TENANT_TEMPLATE_SCHEMA])
def test_a_tenant_schema_holds_every_tenant_table_and_no_shared_table(db, tenants, schema):
    tables = _tables_in(schema)
    assert _tables({TENANT, BOTH}) <= tables, f"a tenant table is missing from {schema}"
    leaked = tables & _tables({SHARED})
    assert not leaked, f"platform tables in {schema}: {leaked}"
    assert tables <= _tables({TENANT, BOTH}) | UNOWNED_TABLES, f"{schema} holds a table no tenant model owns"
