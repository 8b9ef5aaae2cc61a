from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class StudyBackend(ModelBackend):
    """Django's own, but the learner's settings come with the user: every study page needs
    them, so this saves a query on each."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("study_settings")
        user = users.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
