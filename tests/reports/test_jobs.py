"""Export jobs through a real dramatiq worker: the request commits a queued job, the worker builds the file and
the page (htmx polling) offers the download; the file parses back to the builder's figures."""
from __future__ import annotations

import csv
import io
import time

from django.db import connection
from django_tenants.utils import tenant_context

from tests.conftest import sign_in


def test_an_export_job_is_built_by_a_worker_and_downloaded_from_the_page(committed_db, tenants, worker,
                                                                         tenant_client):
    from tenant_apps.identity.models import User
    from tenant_apps.reports.models import ReportJob

    alpha = tenants["alpha"]
    http = tenant_client(alpha)
    assert sign_in(http, alpha, "admin@alpha.test").status_code == 302
    response = http.post("/backoffice/reports/builder/", {
        "action": "export", "format": "csv", "name": "Clients by stage", "dataset": "clients",
        "dimensions": "stage", "measures": "count", "date_from": "2020-01-01", "date_to": "2029-12-31"})
    assert response.status_code == 302
    job_path = response["Location"]
    try:
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            fragment = http.get(f"{job_path}progress/")
            assert fragment.status_code == 200
            status = fragment.content.split(b'data-status="')[1].split(b'"')[0].decode()
            seen.append(status)
            if status in ("done", "failed"):
                break
            assert b'hx-trigger="every 1s"' in fragment.content  # still polling
            time.sleep(0.2)
        assert seen[-1] == "done", seen
        assert b'data-role="download"' in fragment.content and b"hx-get" not in fragment.content
        download = http.get(f"{job_path}download/")
        assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert rows[0] == ["Lifecycle stage", "Number of clients"]
        with tenant_context(alpha):
            from tenant_apps.crm.models import ClientRecord
            from tenant_apps.identity.models import UserKind

            job = ReportJob.objects.get(pk=int(job_path.rstrip("/").split("/")[-1]))
            assert (job.status, job.progress, job.row_count) == ("done", 100, len(rows) - 1)
            assert job.requested_by == User.objects.get(email="admin@alpha.test")
            expected = {}
            for stage in ClientRecord.objects.filter(user__kind=UserKind.CLIENT,
                                                     user__date_joined__year__gte=2020).values_list("stage", flat=True):
                expected[stage] = expected.get(stage, 0) + 1
            assert {r[0]: int(r[1]) for r in rows[1:]} == expected
        # another member of staff never gets someone else's export
        beta_like = tenant_client(alpha)
        assert beta_like.get(f"{job_path}download/").status_code == 302  # signed out: to the sign-in page
    finally:
        with tenant_context(alpha):
            ReportJob.objects.all().delete()
        connection.set_schema_to_public()
