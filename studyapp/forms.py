from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    """Django's own: its password validators run on signup."""
