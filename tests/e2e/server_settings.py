"""Settings of the web server the browser journeys run against (a `manage.py runserver` subprocess): the project's
own, plus the one knob the environment cannot set — where the file-based e-mail backend writes."""
import os

from platform_core.settings import *  # noqa: F401,F403

EMAIL_FILE_PATH = os.environ["E2E_EMAIL_FILE_PATH"]
