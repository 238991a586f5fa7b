"""The tutorial's URL scheme for the endpoints the benchmark measures."""
from django.urls import path
from rest_framework_simplejwt.views import TokenRefreshView, TokenVerifyView

from accounts.views import UserDetailsView

urlpatterns = [
    path("api/auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/auth/token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path("api/auth/user/", UserDetailsView.as_view(), name="user_details"),
]
