"""ASGI entry point. Note: django-tenants' schema is per connection; sync views only (see STACK-NOTES)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
application = get_asgi_application()
