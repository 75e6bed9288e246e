"""The demo desk seeds quickly, once: articles in three languages and tickets in several states."""
from __future__ import annotations

import time

from django.urls import reverse
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD


def test_the_demo_support_desk_seeds_tickets_in_several_states_and_articles_once(desk):
    from provisioning.demo import seed_demo_support
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.support.models import Article, Ticket

    with tenant_context(desk.alpha):
        for i in range(3):
            User.objects.create_user(email=f"demo{i}@example.test", password=PASSWORD, kind=UserKind.CLIENT)
        reverse("support_portal_home", urlconf="platform_core.urls_tenant")  # import the URLconf outside the timing
        started = time.monotonic()
        seed_demo_support(support=desk.support)
        assert time.monotonic() - started < 2
        statuses = set(Ticket.objects.values_list("status", flat=True))
        assert {"new", "open", "waiting_on_client", "resolved", "closed"} <= statuses
        assert Ticket.objects.filter(unverified=True).count() == 1
        assert Ticket.objects.filter(messages__internal=True).exists()
        assert 6 <= Article.objects.filter(language="en").count() <= 10
        for language in ("es", "ar"):
            assert Article.objects.filter(language=language).count() >= 3
        tickets, articles = Ticket.objects.count(), Article.objects.count()
        seed_demo_support(support=desk.support)  # again: nothing new
        assert (Ticket.objects.count(), Article.objects.count()) == (tickets, articles)
