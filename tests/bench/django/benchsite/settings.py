"""Settings of the benchmark's reference Django stack: the seed tutorial's backend
(Django + DRF + simplejwt, custom user model, SQLite, JWT auth, rotation on) as Debian 12
packages it, with DEBUG off. dj-rest-auth, allauth and django-cors-headers are not in Debian:
accounts/views.py has the two views the benchmark needs, CORS is not measured.

Environment (set by tests/bench/bench.py):
  BENCH_DJANGO_DB         the SQLite file (default: db.sqlite3 next to manage.py)
  BENCH_DJANGO_KEY        SECRET_KEY and simplejwt's SIGNING_KEY
  BENCH_DJANGO_BLACKLIST  "1": add simplejwt's token_blacklist app, so that each rotation
                          blacklists the old refresh token in the database (the closest thing
                          simplejwt has to socialauth's reuse detection). Without it, as in the
                          tutorial (BLACKLIST_AFTER_ROTATION = True but the app not installed),
                          simplejwt silently skips the blacklisting and a refresh is pure
                          computation: no database access at all.
"""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("BENCH_DJANGO_KEY", "bench-only-not-secret-0123456789abcdef0123456789")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

BLACKLIST = os.environ.get("BENCH_DJANGO_BLACKLIST") == "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_simplejwt",
    "accounts",
]
if BLACKLIST:
    INSTALLED_APPS.append("rest_framework_simplejwt.token_blacklist")

SITE_ID = 1

# The tutorial's middleware, less corsheaders' (not in Debian).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "userId",
    "USER_ID_CLAIM": "user_id",
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
}

AUTH_USER_MODEL = "accounts.CustomUserModel"

# As the tutorial: Basic and Session first, then JWT (dj-rest-auth's JWTCookieAuthentication is
# simplejwt's JWTAuthentication plus a cookie fallback that a Bearer request never reaches).
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ("rest_framework.permissions.IsAuthenticated",),
    "DEFAULT_AUTHENTICATION_CLASSES": (
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ),
    "DEFAULT_RENDERER_CLASSES": ("rest_framework.renderers.JSONRenderer",),
}

ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DJANGO_DB", str(BASE_DIR / "db.sqlite3")),
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
