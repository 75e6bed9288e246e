"""The automated assessment of a submitted KYC case (screening, risk, auto-approve or manual review).

Called by the submission flow right after `kyc_transition(action="submit")`; the rules live in
tenant_apps.kyc_checks.services."""
from __future__ import annotations


def assess_submission(*, case):
    from tenant_apps.kyc_checks.services import assess_submission as run

    return run(case=case)
