"""Starter help articles (English, with Spanish and Arabic translations of the most asked ones) that a brokerage
can publish as they are or edit in the back office. Used by the demo seeding; slugs match selectors.PAIN_POINTS."""
from __future__ import annotations

ARTICLES: list[dict] = [
    {"slug": "why-is-my-withdrawal-pending", "category": "withdrawal", "title": {
        "en": "Why is my withdrawal pending?",
        "es": "¿Por qué mi retiro está pendiente?",
        "ar": "لماذا طلب السحب الخاص بي معلّق؟"}, "body": {
        "en": "A withdrawal is **reserved** in your wallet as soon as you request it, then checked before it is "
              "sent.\n\n# What we check\n- that your account is verified\n- that the money goes back to the method "
              "you deposited with\n- that no trade is still open on the funds\n\nMost withdrawals are sent within "
              "one business day. If yours is pending longer, [open a ticket](/support/new/?category=withdrawal).",
        "es": "Un retiro queda **reservado** en su billetera en cuanto lo solicita y se revisa antes de enviarlo.\n\n"
              "# Qué revisamos\n- que su cuenta esté verificada\n- que el dinero vuelva al método con el que "
              "depositó\n- que no haya operaciones abiertas con esos fondos\n\nLa mayoría de los retiros se envían "
              "en un día hábil. Si el suyo tarda más, [abra un ticket](/support/new/?category=withdrawal).",
        "ar": "يتم **حجز** مبلغ السحب في محفظتك فور طلبه، ثم تتم مراجعته قبل إرساله.\n\n# ما الذي نتحقق منه\n"
              "- أن حسابك موثّق\n- أن الأموال تعود إلى طريقة الإيداع نفسها\n- عدم وجود صفقات مفتوحة على هذه الأموال"
              "\n\nتُرسل معظم طلبات السحب خلال يوم عمل واحد. إذا تأخر طلبك، [افتح تذكرة](/support/new/?category=withdrawal)."}},
    {"slug": "withdrawal-processing-times", "category": "withdrawal", "title": {"en": "How long does a withdrawal take?"},
     "body": {"en": "Once sent: cards 3–5 business days, bank transfers 1–3 business days, e-wallets usually within "
                    "hours. The withdrawal page shows the date you can expect the money."}},
    {"slug": "how-to-deposit", "category": "deposit", "title": {
        "en": "How to deposit", "es": "Cómo depositar", "ar": "كيفية الإيداع"}, "body": {
        "en": "Go to **Deposit & withdraw**, choose a method, enter the amount and follow the payment page.\n\n"
              "- Cards are credited within minutes\n- Bank transfers need the reference we show you",
        "es": "Vaya a **Depositar y retirar**, elija un método, indique el importe y siga la página de pago.\n\n"
              "- Las tarjetas se acreditan en minutos\n- Las transferencias necesitan la referencia que le mostramos",
        "ar": "انتقل إلى **الإيداع والسحب**، واختر طريقة، وأدخل المبلغ واتبع صفحة الدفع.\n\n"
              "- تُضاف المبالغ بالبطاقة خلال دقائق\n- تحتاج التحويلات البنكية إلى المرجع الذي نعرضه لك"}},
    {"slug": "deposit-not-credited", "category": "deposit", "title": {"en": "My deposit is not credited yet"},
     "body": {"en": "Card deposits usually arrive within minutes. A bank transfer is credited once it reaches our bank "
                    "with **your reference**; without it we match it by hand, which takes longer.\n\nStill missing "
                    "after a day? [Open a ticket](/support/new/?category=deposit) and attach the payment receipt."}},
    {"slug": "how-to-open-an-account", "category": "account", "title": {
        "en": "How to open a trading account", "es": "Cómo abrir una cuenta de trading",
        "ar": "كيفية فتح حساب تداول"}, "body": {
        "en": "Complete your profile and verification first. Then open **Trading accounts**, choose an account type "
              "and press Open. A demo account is available at once.",
        "es": "Complete primero su perfil y la verificación. Luego abra **Cuentas de trading**, elija un tipo de "
              "cuenta y pulse Abrir. Una cuenta demo está disponible de inmediato.",
        "ar": "أكمل ملفك الشخصي والتحقق أولاً. ثم افتح **حسابات التداول**، واختر نوع الحساب واضغط فتح. "
              "الحساب التجريبي متاح فوراً."}},
    {"slug": "verification-documents", "category": "verification", "title": {"en": "Which documents do I need?"},
     "body": {"en": "- a valid passport, identity card or driving licence\n- a proof of address issued within the "
                    "last 3 months (utility bill or bank statement)\n\nPhotos must show the whole document, sharp "
                    "and without glare."}},
    {"slug": "change-leverage", "category": "trading", "title": {"en": "How do I change my leverage?"},
     "body": {"en": "On **Trading accounts**, choose the account and request a new leverage. The maximum depends on "
                    "your country's rules and the instrument."}},
    {"slug": "reset-platform-password", "category": "technical", "title": {"en": "I forgot my platform password"},
     "body": {"en": "Your trading-platform password is separate from the portal's. Request a new one from "
                    "**Trading accounts**; we e-mail it to you."}},
]


def articles_seed(*, staff=None) -> int:
    """Create the starter articles that do not exist yet (published); returns how many were created."""
    from tenant_apps.support.models import Article

    created = 0
    for spec in ARTICLES:
        for language, title in spec["title"].items():
            _article, made = Article.objects.get_or_create(
                language=language, slug=spec["slug"],
                defaults={"title": title, "body": spec["body"][language], "category": spec["category"],
                          "published": True, "updated_by": staff})
            created += made
    return created
