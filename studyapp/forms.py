import zoneinfo

from django import forms
from django.contrib.auth.forms import UserCreationForm

from . import scheduler
from .models import LearnerSettings

MAX_RESPONSE = 1000


class SignupForm(UserCreationForm):
    """Django's own: its password validators run on signup."""


class ScopeForm(forms.Form):
    """Where the learner is studying: a deck or a document, and whether it is practice."""

    deck = forms.SlugField(required=False)
    source = forms.SlugField(required=False)
    practice = forms.BooleanField(required=False)


class AnswerForm(ScopeForm):
    token = forms.UUIDField()
    shown_at = forms.IntegerField(required=False, min_value=0)
    response = forms.CharField(
        required=False,
        strip=True,
        max_length=MAX_RESPONSE,
        error_messages={"max_length": f"An answer is at most {MAX_RESPONSE} characters long."},
    )


class GradeForm(AnswerForm):
    rating = forms.TypedChoiceField(
        coerce=int,
        choices=[(1, "Again"), (2, "Hard"), (3, "Good"), (4, "Easy")],
        error_messages={
            "required": "A grade needs a rating: 1 Again, 2 Hard, 3 Good or 4 Easy.",
            "invalid_choice": "The rating must be 1 Again, 2 Hard, 3 Good or 4 Easy.",
        },
    )


class SettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[(tz, tz) for tz in sorted(zoneinfo.available_timezones())],
        help_text="Your study day and streaks follow it.",
    )

    class Meta:
        model = LearnerSettings
        fields = [
            "desired_retention",
            "new_per_day",
            "reviews_per_day",
            "learning_steps",
            "relearning_steps",
            "maximum_interval",
            "time_zone",
            "day_starts_at",
        ]
        widgets = {
            "desired_retention": forms.NumberInput(attrs={"min": 0.7, "max": 0.97, "step": 0.01}),
            "new_per_day": forms.NumberInput(attrs={"min": 0, "max": 9999}),
            "reviews_per_day": forms.NumberInput(attrs={"min": 0, "max": 99999}),
            "day_starts_at": forms.NumberInput(attrs={"min": 0, "max": 23}),
            "maximum_interval": forms.NumberInput(attrs={"min": 1, "max": 36500}),
        }
        help_texts = {
            "desired_retention": "Higher means more reviews and fewer cards forgotten (0.70 to 0.97).",
        }

    def clean_desired_retention(self):
        value = self.cleaned_data["desired_retention"]
        if not 0.7 <= value <= 0.97:
            raise forms.ValidationError("Desired retention must be between 0.70 and 0.97.")
        return value

    def clean_day_starts_at(self):
        value = self.cleaned_data["day_starts_at"]
        if value > 23:
            raise forms.ValidationError("The study day starts at an hour from 0 to 23.")
        return value

    def _steps(self, name):
        try:
            steps = scheduler.parse_steps(self.cleaned_data[name])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return " ".join(self.cleaned_data[name].split()) if steps else ""

    def clean_learning_steps(self):
        return self._steps("learning_steps")

    def clean_relearning_steps(self):
        return self._steps("relearning_steps")
