"""dj-rest-auth's UserDetailsView: GET/PUT/PATCH /api/auth/user/ for the signed-in user."""
from rest_framework.generics import RetrieveUpdateAPIView
from rest_framework.permissions import IsAuthenticated

from .serializers import UserDetailsSerializer


class UserDetailsView(RetrieveUpdateAPIView):
    serializer_class = UserDetailsSerializer
    permission_classes = (IsAuthenticated,)

    def get_object(self):
        return self.request.user

    def get_queryset(self):
        return self.serializer_class.Meta.model.objects.none()
