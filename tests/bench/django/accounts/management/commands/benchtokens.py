"""manage.py benchtokens USERNAME N: create the user if needed and print, as JSON,
{"user_id":..., "access":..., "refresh":[N refresh tokens]} minted by simplejwt for it
(N distinct refresh tokens: the benchmark's pool of sessions to rotate)."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework_simplejwt.tokens import RefreshToken

import json


class Command(BaseCommand):
    help = "Create a benchmark user and print an access token and N refresh tokens as JSON."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("count", type=int)

    def handle(self, *args, **options):
        users = get_user_model()
        name = options["username"]
        user = users.objects.filter(username=name).first()
        if user is None:
            user = users.objects.create_user(name, name + "@example.com", None,
                                             first_name="Bench", last_name="User")
        refresh = [RefreshToken.for_user(user) for _ in range(max(1, options["count"]))]
        self.stdout.write(json.dumps({
            "user_id": user.userId,
            "access": str(refresh[0].access_token),
            "refresh": [str(r) for r in refresh],
        }))
