"""The help centre: articles per language with English as the fallback, text rendered safely, links from the
portal's pain points (deposit, withdrawal, account opening), and articles managed in the back office."""
from __future__ import annotations

from django_tenants.utils import tenant_context

from tenant_apps.support import selectors
from tenant_apps.support.markup import render_markup
from tenant_apps.support.models import Article


def _articles(brokerage):
    with tenant_context(brokerage):
        Article.objects.create(language="en", slug="why-is-my-withdrawal-pending", title="Why is my withdrawal pending?",
                               body="Withdrawals are **reviewed** first.", category="withdrawal", published=True)
        Article.objects.create(language="es", slug="why-is-my-withdrawal-pending",
                               title="¿Por qué mi retiro está pendiente?", body="Los retiros se revisan.",
                               category="withdrawal", published=True)
        Article.objects.create(language="en", slug="how-to-deposit", title="How to deposit", body="Use a card.",
                               category="deposit", published=True)
        Article.objects.create(language="en", slug="draft", title="Unpublished draft", body="x", published=False)


def test_an_article_is_shown_in_the_readers_language_and_falls_back_to_english(desk, tenant_client):
    _articles(desk.alpha)
    web = tenant_client(desk.alpha)
    spanish = web.get("/support/help/why-is-my-withdrawal-pending/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "¿Por qué mi retiro está pendiente?" in spanish and 'data-role="fallback"' not in spanish
    arabic = web.get("/support/help/why-is-my-withdrawal-pending/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "Why is my withdrawal pending?" in arabic and 'data-role="fallback"' in arabic
    english = web.get("/support/help/how-to-deposit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-role="fallback"' not in english
    assert web.get("/support/help/draft/").status_code == 404
    assert web.get("/support/help/no-such-article/").status_code == 404


def test_the_index_lists_each_article_once_in_the_best_language(desk):
    _articles(desk.alpha)
    with tenant_context(desk.alpha):
        spanish = [(a.slug, a.language) for a in selectors.articles_for("es")]
        assert sorted(spanish) == [("how-to-deposit", "en"), ("why-is-my-withdrawal-pending", "es")]
        assert sorted(a.slug for a in selectors.articles_for("xx")) == ["how-to-deposit",
                                                                         "why-is-my-withdrawal-pending"]


def test_article_text_is_escaped_before_the_few_formats_we_allow(desk):
    html = render_markup('# Title\n<script>alert(1)</script> **bold** [ok](https://example.com) '
                         '[bad](javascript:alert(1))\n- one\n- two')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<strong>bold</strong>" in html and '<a href="https://example.com"' in html
    assert 'href="javascript' not in html and "<li>one</li><li>two</li>" in html and "<h3>Title</h3>" in html


def test_the_withdraw_and_deposit_pages_link_their_help_articles(desk, http):
    _articles(desk.alpha)
    web = http(desk.client, desk.alpha)
    withdraw = web.get("/money/withdraw/").content.decode()
    assert 'data-point="withdrawal"' in withdraw and "/support/help/why-is-my-withdrawal-pending/" in withdraw
    deposit = web.get("/money/deposit/").content.decode()
    assert 'data-point="deposit"' in deposit and "/support/help/how-to-deposit/" in deposit


def test_support_staff_write_an_article_and_sales_may_not(desk, http):
    data = {"language": "es", "slug": "how-to-deposit", "title": "Cómo depositar", "category": "deposit",
            "body": "Con **tarjeta**.", "published": "on"}
    assert http(desk.sales, desk.alpha).post("/backoffice/support/articles/new/", data).status_code == 403
    web = http(desk.support, desk.alpha)
    response = web.post("/backoffice/support/articles/new/", data)
    assert response.status_code == 302
    again = web.post("/backoffice/support/articles/new/", data)  # the same slug and language twice
    assert again.status_code == 400 and "already exists" in again.content.decode()
    assert web.post("/backoffice/support/articles/new/", {**data, "language": "xx"}).status_code == 400
    with tenant_context(desk.alpha):
        article = Article.objects.get(language="es", slug="how-to-deposit")
        assert article.published and article.updated_by_id == desk.support.pk
    assert "<strong>tarjeta</strong>" in web.get(f"/backoffice/support/articles/{article.pk}/").content.decode()
