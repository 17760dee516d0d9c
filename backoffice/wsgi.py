import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

from webhooks.inbound.wsgi import with_inbound_fast_path

# Inbound SIBS notifications skip the middleware stack (see webhooks/wsgi.py): the same view,
# about half a millisecond less CPU each, which is what lets one web process acknowledge
# more than a thousand a second. Every other request goes through Django as usual.
django_application = get_wsgi_application()
application = with_inbound_fast_path(django_application)
