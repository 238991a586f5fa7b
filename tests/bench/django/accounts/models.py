"""A custom user model shaped like the tutorial's (a UUID string primary key named userId,
unique username and email), plus first/last name so that /api/auth/user/ answers the same
fields as dj-rest-auth's UserDetailsSerializer and socialauth."""
from uuid import uuid4

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models


def new_user_id():
    return str(uuid4())


class CustomUserModelManager(BaseUserManager):
    def create_user(self, username, email, password=None, **fields):
        user = self.model(username=username, email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username, email, password):
        return self.create_user(username, email, password, is_staff=True, is_superuser=True)


class CustomUserModel(AbstractBaseUser, PermissionsMixin):
    userId = models.CharField(max_length=36, default=new_user_id, primary_key=True,
                              editable=False)
    username = models.CharField(max_length=150, unique=True)
    email = models.EmailField(max_length=100, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    created_on = models.DateTimeField(auto_now_add=True, blank=True, null=True)
    updated_at = models.DateTimeField(auto_now=True)

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["email"]

    objects = CustomUserModelManager()

    class Meta:
        verbose_name = "Custom User"
