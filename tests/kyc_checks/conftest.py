"""Fixtures of the KYC-check tests: the committed OFAC extract (as the sanctions tests import it), clients."""
from __future__ import annotations

import itertools
from datetime import date

import pytest
from django_tenants.utils import tenant_context

from tests.sanctions.conftest import extract_dir, extract_list  # noqa: F401 - fixtures

_seq = itertools.count(1)


@pytest.fixture
def make_client(db, tenants):
    """make_client(slug, full_name, country=, nationality=, dob=, documents=True, submit=True) → user (alpha/beta)."""

    def make(slug: str, full_name: str, *, country: str = "DE", nationality: str = "DE", dob=date(1985, 4, 2),
             documents: bool = True, submit: bool = True, source_of_funds: str = "salary"):
        from tenant_apps.compliance.models import ClientProfile, KycDocument
        from tenant_apps.compliance.services import kyc_transition
        from tenant_apps.crm.models import ClientRecord
        from tenant_apps.identity.models import User, UserKind

        with tenant_context(tenants[slug]):
            n = next(_seq)
            user = User.objects.create_user(email=f"kyc{n}@{slug}.example", password="pw-kyc-2026",
                                            full_name=full_name, kind=UserKind.CLIENT)
            ClientRecord.objects.create(user=user, country=country)
            ClientProfile.objects.create(client=user, full_name=full_name, date_of_birth=dob, country=country,
                                         nationality=nationality, source_of_funds=source_of_funds)
            if documents:
                for doc_type in ("passport", "proof_of_address"):
                    KycDocument.objects.create(client=user, doc_type=doc_type, file=f"kyc/{n}-{doc_type}.png",
                                               sha256="0" * 64, content_type="image/png", size=100,
                                               expiry_date=date(2031, 1, 1) if doc_type == "passport" else None)
            if submit:
                kyc_transition(client=user, action="submit", actor=user, actor_kind="client")
            return user

    return make
