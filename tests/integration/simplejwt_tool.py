"""Run the real djangorestframework-simplejwt (Debian's package) on our tokens, and mint its own.

usage: /usr/bin/python3 simplejwt_tool.py KEY verify access|refresh TOKEN
       /usr/bin/python3 simplejwt_tool.py KEY mint USER_ID [int]
verify prints the payload as JSON, or exits 1 with the reason; mint prints
{"access":..., "refresh":...} with user_id as a string (or an integer with `int`).
"""

import json
import sys

import django
from django.conf import settings


def setup(key):
    settings.configure(
        SECRET_KEY="not-used-for-tokens",
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                        "rest_framework", "rest_framework_simplejwt"],
        DATABASES={},
        USE_TZ=True,
        SIMPLE_JWT={"SIGNING_KEY": key, "ALGORITHM": "HS256", "USER_ID_FIELD": "id",
                    "USER_ID_CLAIM": "user_id", "ROTATE_REFRESH_TOKENS": True},
    )
    django.setup()


def main(argv):
    key, verb = argv[1], argv[2]
    setup(key)
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

    if verb == "verify":
        cls = AccessToken if argv[3] == "access" else RefreshToken
        try:
            token = cls(argv[4])
        except TokenError as e:
            print(str(e), file=sys.stderr)
            return 1
        print(json.dumps(token.payload))
        return 0
    if verb == "mint":
        user_id = int(argv[3]) if len(argv) > 4 and argv[4] == "int" else argv[3]
        refresh = RefreshToken()
        refresh["user_id"] = user_id
        print(json.dumps({"access": str(refresh.access_token), "refresh": str(refresh)}))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
