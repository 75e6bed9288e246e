"""The notification centre: notify() renders in the recipient's language and stores once per key; e-mail leaves
after commit through the outbox, respecting preferences; the Trader's Room and back-office lists show only the
user's own, ranked, in bounded queries; mark one/all read; another user's (or brokerage's) is not found."""
from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD

SENT = {"reference": "WD-TEST1", "amount": "250.00", "currency": "EUR", "method": "Bank transfer",
        "eta": "1–3 business days", "expected_date": date(2026, 11, 22)}


def notify_sent(user, key: str = "wd-1"):
    from tenant_apps.notifications.services import notify

    return notify(user, "withdrawal.sent", context=SENT, link="/money/", dedupe_key=key)


@pytest.mark.parametrize(("language", "expected_date"), [("en", "Nov. 22, 2026"), ("es", "22 de noviembre de 2026"),
                                                         ("ar", "22 نوفمبر، 2026")])
def test_a_notification_and_its_email_are_rendered_in_the_clients_saved_language(
        tenants, alpha_client, django_capture_on_commit_callbacks, language, expected_date):
    from tenant_apps.notifications.services import notification_email_deliver

    with tenant_context(tenants["alpha"]):
        alpha_client.language = language
        alpha_client.save(update_fields=["language"])
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            note = notify_sent(alpha_client)
        assert note.language == language and expected_date in note.body  # the switch happened (Django's locale)
        assert callbacks, "the e-mail is queued after commit"
        mail.outbox.clear()
        assert notification_email_deliver(notification_id=note.pk) is True
        assert notification_email_deliver(notification_id=note.pk) is False  # never twice
        note.refresh_from_db()
    assert note.email_sent_at is not None and len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [alpha_client.email] and message.extra_headers["Content-Language"] == language
    assert message.subject.startswith("Alpha Trading: ") and expected_date in message.body
    assert "Beta Capital" not in message.body


def test_without_a_saved_language_the_brokerages_default_is_used(tenants, alpha_client):
    from tenant_apps.notifications.services import language_of

    with tenant_context(tenants["alpha"]):
        alpha_client.language = "xx"  # not a language we serve
        assert language_of(alpha_client) == (tenants["alpha"].default_language or "en")


def test_the_same_key_notifies_once_and_a_new_key_notifies_again(tenants, alpha_client):
    from tenant_apps.notifications.models import Notification

    with tenant_context(tenants["alpha"]):
        first = notify_sent(alpha_client, key="k1")
        again = notify_sent(alpha_client, key="k1")
        other = notify_sent(alpha_client, key="k2")
        assert first.pk == again.pk != other.pk
        assert Notification.objects.filter(recipient=alpha_client).count() == 2


def test_an_unknown_kind_or_missing_context_is_refused_with_a_specific_error(tenants, alpha_client):
    from tenant_apps.notifications.errors import NotificationError
    from tenant_apps.notifications.models import Notification
    from tenant_apps.notifications.services import notify

    with tenant_context(tenants["alpha"]):
        with pytest.raises(NotificationError) as unknown:
            notify(alpha_client, "deposit.exploded", context={})
        with pytest.raises(NotificationError) as missing:
            notify(alpha_client, "withdrawal.sent", context={"reference": "WD-1"})
        assert unknown.value.code == "unknown_kind" and missing.value.code == "context_missing"
        assert not Notification.objects.filter(recipient=alpha_client).exists()


def test_email_preferences_are_respected_and_money_stays_in_the_portal(tenants, alpha_client):
    from tenant_apps.notifications.errors import NotificationError
    from tenant_apps.notifications.models import NotificationPreference
    from tenant_apps.notifications.selectors import notifications_for, unread_count
    from tenant_apps.notifications.services import notification_email_deliver, notify, preferences_set

    with tenant_context(tenants["alpha"]):
        preferences_set(user=alpha_client, choices={("money", "email"): False, ("promotions", "in_app"): False})
        money = notify_sent(alpha_client)
        promo = notify(alpha_client, "promotion", context={"title": "Tight spreads", "body": "On gold"})
        assert not money.email_wanted and not promo.email_wanted
        mail.outbox.clear()
        assert notification_email_deliver(notification_id=money.pk) is False and mail.outbox == []
        assert money.in_app and not promo.in_app  # promotions switched off in the portal
        assert [n.pk for n in notifications_for(user=alpha_client)] == [money.pk] and unread_count(user=alpha_client) == 1
        with pytest.raises(NotificationError) as refused:
            preferences_set(user=alpha_client, choices={("money", "in_app"): False, ("support", "email"): False})
        assert refused.value.code == "preference_not_allowed"
        assert not NotificationPreference.objects.filter(user=alpha_client, category="support").exists()  # all or nothing


def test_promotions_are_not_emailed_unless_the_client_opts_in(tenants, alpha_client):
    from tenant_apps.notifications.services import notify, preferences_set

    with tenant_context(tenants["alpha"]):
        assert not notify(alpha_client, "promotion", context={"title": "a", "body": "b"}).email_wanted
        preferences_set(user=alpha_client, choices={("promotions", "email"): True})
        assert notify(alpha_client, "promotion", context={"title": "a", "body": "b"}).email_wanted


def test_the_portal_lists_the_clients_own_ranked_and_opening_one_marks_it_read(
        tenants, alpha_client, tenant_client):
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.notifications.models import Notification
    from tenant_apps.notifications.services import notify

    with tenant_context(tenants["alpha"]):
        event = notify_sent(alpha_client)
        action = notify(alpha_client, "deposit.failed", context={"reference": "DEP-9", "reason": "Declined.",
                                                                  "next_step": "Try another card."}, link="/money/")
        someone = User.objects.create_user(email="someone@alpha.test", password=PASSWORD, kind=UserKind.CLIENT)
        theirs = notify(someone, "kyc.approved", context={})
    http = tenant_client(tenants["alpha"], alpha_client.email)
    page = http.get("/notifications/").content.decode()
    assert page.index("Deposit DEP-9 failed") < page.index("Withdrawal WD-TEST1 sent")  # action required first
    assert "Your account is verified" not in page  # someone else's
    assert 'data-role="unread-count">2<' in http.get("/money/").content.decode()  # the badge in the nav
    response = http.post(f"/notifications/{event.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/money/"
    assert http.post(f"/notifications/{theirs.pk}/open/").status_code == 404
    with tenant_context(tenants["alpha"]):
        assert Notification.objects.get(pk=event.pk).read_at is not None
        assert Notification.objects.get(pk=theirs.pk).read_at is None
        assert Notification.objects.get(pk=action.pk).read_at is None
    assert http.post("/notifications/", {"action": "read_all"}).status_code == 302
    with tenant_context(tenants["alpha"]):
        assert not Notification.objects.filter(recipient=alpha_client, read_at__isnull=True).exists()
    assert 'data-role="unread-count"' not in http.get("/money/").content.decode()


def test_a_notification_link_to_another_site_is_never_followed(tenants, alpha_client, tenant_client):
    from tenant_apps.notifications.services import notify

    with tenant_context(tenants["alpha"]):
        note = notify(alpha_client, "kyc.approved", context={}, link="https://evil.example/phish")
    response = tenant_client(tenants["alpha"], alpha_client.email).post(f"/notifications/{note.pk}/open/")
    assert response["Location"] == "/notifications/"


def test_the_portal_saves_email_choices_and_refuses_an_unknown_action(tenants, alpha_client, tenant_client):
    from tenant_apps.notifications.services import channel_enabled

    http = tenant_client(tenants["alpha"], alpha_client.email)
    # every e-mail box unticked except support; in-app ticked for the changeable categories
    response = http.post("/notifications/", {"action": "preferences", "support.email": "on", "account.in_app": "on",
                                             "support.in_app": "on", "promotions.in_app": "on"})
    assert response.status_code == 302
    with tenant_context(tenants["alpha"]):
        assert not channel_enabled(alpha_client, category="money", channel="email")
        assert channel_enabled(alpha_client, category="support", channel="email")
        assert channel_enabled(alpha_client, category="money", channel="in_app")  # locked on
    assert http.post("/notifications/", {"action": "explode"}).status_code == 400


def test_staff_read_their_own_list_in_the_back_office_and_never_a_clients(tenants, alpha_client, tenant_client):
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.notifications.services import notify
    from tests.conftest import mfa_enrol

    with tenant_context(tenants["alpha"]):
        finance = staff_user_create(email="finance.notes@alpha.test", password=PASSWORD, role_codes=["finance"])[0]
        mine = notify(finance, "message", context={"title": "Withdrawal WD-7 waits for you", "body": "Finance stage"})
        clients = notify_sent(alpha_client)
    mfa_enrol(tenants["alpha"], finance.email)
    http = tenant_client(tenants["alpha"], finance.email)
    page = http.get("/backoffice/notifications/").content.decode()
    assert "Withdrawal WD-7 waits for you" in page and "WD-TEST1" not in page
    assert http.get("/notifications/")["Location"] == "/backoffice/notifications/"
    assert http.post(f"/backoffice/notifications/{clients.pk}/open/").status_code == 404
    assert http.post(f"/backoffice/notifications/{mine.pk}/open/").status_code == 302


def test_two_brokerages_keep_their_notifications_apart(db, tenants, tenant_client):
    from tenant_apps.notifications.models import Notification
    from tests.payments.money.conftest import make_client

    made = {}
    for slug in ("alpha", "beta"):
        with tenant_context(tenants[slug]):
            user = make_client(slug, email=f"same.person@{slug}.test")
            made[slug] = (user, notify_sent(user, key=f"{slug}-only"))
    for slug, other in (("alpha", "beta"), ("beta", "alpha")):
        user, note = made[slug]
        http = tenant_client(tenants[slug], user.email)
        page = http.get("/notifications/").content.decode()
        assert "WD-TEST1" in page
        foreign = made[other][1]
        if foreign.pk != note.pk:
            assert http.post(f"/notifications/{foreign.pk}/open/").status_code == 404
        with tenant_context(tenants[slug]):
            assert list(Notification.objects.values_list("dedupe_key", flat=True)) == [f"{slug}-only"]


@pytest.mark.parametrize("count", [1, 40])
def test_the_list_page_reads_in_a_bounded_number_of_queries(tenants, alpha_client, tenant_client, count,
                                                            django_assert_max_num_queries):
    with tenant_context(tenants["alpha"]):
        for i in range(count):
            notify_sent(alpha_client, key=f"q{i}")
    http = tenant_client(tenants["alpha"], alpha_client.email)
    with django_assert_max_num_queries(16):  # session, user, roles, theme, ... and ONE for the list
        response = http.get("/notifications/")
    assert response.content.decode().count('data-kind="withdrawal.sent"') == count


def test_the_demo_seeds_a_few_notifications_once(money):
    from provisioning.demo import seed_demo_notifications
    from tenant_apps.notifications.models import Notification

    ctx = money["alpha"]
    with tenant_context(ctx.brokerage):
        seed_demo_notifications(finance=ctx.staff["finance"])
        made = Notification.objects.count()
        seed_demo_notifications(finance=ctx.staff["finance"])
        assert Notification.objects.count() == made >= 4
        assert Notification.objects.filter(recipient=ctx.staff["finance"], kind="message").count() == 1
        assert Notification.objects.filter(recipient=ctx.client, kind="withdrawal.sent").count() == 1


def test_the_email_leaves_through_a_worker_after_commit(committed_db, tenants, worker):
    """The real path: notify commits, the worker delivers, the row records when (cleaned up afterwards)."""
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.notifications.models import Notification
    from tenant_apps.notifications.services import notify
    from tests.payments.conftest import wait_for

    mail.outbox.clear()
    with tenant_context(tenants["beta"]):
        user = User.objects.create_user(email="worker.mail@beta.test", password=PASSWORD, kind=UserKind.CLIENT,
                                        language="es")
    try:
        with tenant_context(tenants["beta"]):
            note = notify(user, "withdrawal.sent", context=SENT, dedupe_key="worker-1")

        def delivered():
            with tenant_context(tenants["beta"]):
                return Notification.objects.filter(pk=note.pk, email_sent_at__isnull=False).exists()

        wait_for(delivered, timeout_s=20)
        sent = [m for m in mail.outbox if m.to == ["worker.mail@beta.test"]]
        assert len(sent) == 1 and sent[0].subject.startswith("Beta Capital: ")
        assert "22 de noviembre de 2026" in sent[0].body
    finally:
        with tenant_context(tenants["beta"]):
            Notification.objects.filter(recipient=user).delete()
            user.delete()


def test_the_outbox_sweep_requeues_only_emails_still_owed(tenants, alpha_client, broker):
    from django.utils import timezone

    from tenant_apps.notifications.models import Notification
    from tenant_apps.notifications.services import EMAIL_MAX_ATTEMPTS, notifications_email_requeue

    with tenant_context(tenants["alpha"]):
        owed = notify_sent(alpha_client, key="owed")
        done = notify_sent(alpha_client, key="done")
        gave_up = notify_sent(alpha_client, key="gave-up")
        old = timezone.now() - timezone.timedelta(hours=1)
        Notification.objects.filter(pk__in=[owed.pk, done.pk, gave_up.pk]).update(created_at=old)
        Notification.objects.filter(pk=done.pk).update(email_sent_at=timezone.now())
        Notification.objects.filter(pk=gave_up.pk).update(email_attempts=EMAIL_MAX_ATTEMPTS)
        assert notifications_email_requeue() == 1
