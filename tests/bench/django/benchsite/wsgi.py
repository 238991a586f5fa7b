"""WSGI entry point for gunicorn: gunicorn --chdir tests/bench/django benchsite.wsgi"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
application = get_wsgi_application()
