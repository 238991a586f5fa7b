"""dj-rest-auth's UserDetailsSerializer, for the custom user model (without the password field
the tutorial's serializer exposed)."""
from rest_framework import serializers

from .models import CustomUserModel


class UserDetailsSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomUserModel
        fields = ("pk", "userId", "username", "email", "first_name", "last_name")
        read_only_fields = ("pk", "userId", "email")
