"""Make a real `manage.py dumpdata` file with Debian's Django and django-allauth.

usage: /usr/bin/python3 django_dump.py DIR custom|default OUT

Builds a throwaway project in DIR (SQLite database there): with `custom`, an `accounts` app
whose user model has a UUID primary key (as the tutorial's), with `default`, Django's
auth.User. Creates users with real password hashes and allauth SocialAccount rows (Google,
plus one GitHub row), then writes dumpdata JSON of the user model and
socialaccount.socialaccount to OUT.
"""

import datetime
import os
import sys

import django
from django.conf import settings

MODELS = """
import uuid
from django.contrib.auth.models import AbstractUser
from django.db import models


class CustomUser(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
"""


def main(directory, mode, out):
    apps = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sites",
            "allauth", "allauth.account", "allauth.socialaccount",
            "allauth.socialaccount.providers.google"]
    extra = {}
    if mode == "custom":
        os.makedirs(os.path.join(directory, "accounts", "migrations"), exist_ok=True)
        for name, text in (("__init__.py", ""), ("models.py", MODELS),
                           (os.path.join("migrations", "__init__.py"), "")):
            with open(os.path.join(directory, "accounts", name), "w") as f:
                f.write(text)
        sys.path.insert(0, directory)
        apps.append("accounts")
        extra["AUTH_USER_MODEL"] = "accounts.CustomUser"
    settings.configure(
        SECRET_KEY="dump-test", INSTALLED_APPS=apps, SITE_ID=1, USE_TZ=True,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": os.path.join(directory, "db.sqlite3")}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"], **extra)
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from allauth.socialaccount.models import SocialAccount

    if mode == "custom":
        call_command("makemigrations", "accounts", verbosity=0)
    call_command("migrate", verbosity=0)
    User = get_user_model()
    joined = datetime.datetime(2023, 5, 17, 8, 30, 15, 123000, tzinfo=datetime.timezone.utc)
    alice = User.objects.create_superuser("alice", "alice@example.com", "pw-alice",
                                          first_name="Alice", last_name="Liddell")
    alice.date_joined = joined
    alice.last_login = joined + datetime.timedelta(days=3)
    alice.save()
    bob = User.objects.create_user("bob", "Bob@Example.com", "pw-bob", is_active=False)
    carol = User.objects.create_user("carol", "carol@example.com", first_name="Zoë")
    carol.set_unusable_password()
    carol.save()
    dave = User.objects.create_user("dave.k", "dave@example.com", "pw-dave", is_staff=True)
    SocialAccount.objects.create(user=carol, provider="google", uid="g-carol",
                                 extra_data={"sub": "g-carol", "email": "carol@example.com",
                                             "given_name": "Zoë"})
    SocialAccount.objects.create(user=dave, provider="google", uid="g-dave",
                                 extra_data={"sub": "g-dave"})
    SocialAccount.objects.create(user=bob, provider="github", uid="4242", extra_data={})
    label = "accounts.customuser" if mode == "custom" else "auth.user"
    with open(out, "w") as f:
        call_command("dumpdata", label, "socialaccount.socialaccount", indent=2, stdout=f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
