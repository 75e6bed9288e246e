"""The database itself refuses UPDATE, DELETE and TRUNCATE on the audit table, in every brokerage's schema.

Written to come out identical on every build path (migrations, blueprint replay, spare-pool rename):
- names are unqualified: migrations run with the search path set to the tenant's schema, so the function
  and triggers land there, and pg_dump qualifies them itself when the blueprint is rendered;
- the function body never names a schema (the blueprint rewrite refuses any statement still holding the
  template's name) and reads the table it guards from TG_TABLE_SCHEMA/TG_TABLE_NAME at run time;
- the body has no blank or comment lines: the rewrite drops such lines, which would change the body.
The error is SQLSTATE 23000 (integrity_constraint_violation), which Django raises as IntegrityError.
"""
from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_auditentry_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'Record a new audit entry that corrects or explains the earlier one.';
END;
$$
"""
ROW_TRIGGER = """
CREATE TRIGGER audit_auditentry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_auditentry_refuse_change()
"""
TRUNCATE_TRIGGER = """
CREATE TRIGGER audit_auditentry_no_truncate BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditentry_refuse_change()
"""


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[FUNCTION, ROW_TRIGGER, TRUNCATE_TRIGGER],
            reverse_sql=[
                "DROP TRIGGER IF EXISTS audit_auditentry_no_truncate ON audit_auditentry",
                "DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry",
                "DROP FUNCTION IF EXISTS audit_auditentry_refuse_change()",
            ],
        ),
    ]
