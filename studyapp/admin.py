"""The editor's tools: the bank is curated here with the same rules load_bank applies;
learners' cards and reviews can be looked at, not edited."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import Truncator

from . import bank, ingest, tally
from .models import Card, Choice, Deck, LearnerSettings, Question, Review, Source


class UploadForm(forms.Form):
    file = forms.FileField(help_text="A UTF-8 text file of the article.")
    slug = forms.SlugField(required=False, help_text="Default: from the file name.")
    title = forms.CharField(required=False, max_length=300)
    publisher = forms.CharField(required=False, max_length=200)
    published_on = forms.DateField(required=False, help_text="YYYY-MM-DD, if the text gives it.")


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["slug", "display_title", "publisher", "published_on", "question_count"]
    search_fields = ["slug", "title", "publisher", "text"]
    readonly_fields = ["seed_file", "text"]
    change_list_template = "admin/studyapp/source/change_list.html"

    def get_urls(self):
        upload = path(
            "upload/", self.admin_site.admin_view(self.upload), name="studyapp_source_upload"
        )
        return [upload, *super().get_urls()]

    def upload(self, request):
        """Ingest an uploaded document, as manage.py ingest does."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                done = ingest.ingest(
                    name=data["file"].name, content=data["file"].read(), slug=data["slug"],
                    title=data["title"], publisher=data["publisher"],
                    published_on=data["published_on"],
                )  # fmt: skip
            except ingest.IngestError as exc:
                form.add_error("file", str(exc))
            else:
                removed = (
                    "; ".join(f"{what}: {line[:60]}" for what, line in done.removed) or "nothing"
                )
                self.message_user(
                    request,
                    f"{done.source.slug}: {done.drafts_created} draft question(s) proposed, "
                    f"{done.drafts_kept} already there. Boilerplate removed: {removed}.",
                    messages.SUCCESS,
                )
                changelist = reverse("admin:studyapp_question_changelist")
                return redirect(f"{changelist}?drafts=yes&source__id__exact={done.source.id}")
        context = {**self.admin_site.each_context(request), "form": form,
                   "title": "Upload a document", "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/studyapp/source/upload.html", context)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_questions=Count("questions"))

    @admin.display(description="questions", ordering="n_questions")
    def question_count(self, obj):
        return obj.n_questions


@admin.register(Deck)
class DeckAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "question_count"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_questions=Count("questions"))

    @admin.display(description="questions", ordering="n_questions")
    def question_count(self, obj):
        return obj.n_questions


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = [
            "uid", "deck", "kind", "is_active", "tags", "prompt", "answer",
            "accepted_answers", "explanation", "source", "source_quote",
        ]  # fmt: skip

    def clean(self):
        data = super().clean()
        needed = ("kind", "prompt", "answer", "source_quote", "source")
        if all(data.get(name) for name in needed):
            for field, message in bank.question_problems(
                kind=data["kind"],
                prompt=data["prompt"],
                answer=data["answer"],
                source_quote=data["source_quote"],
                source_text=data["source"].text,
            ):
                self.add_error(field, message)
        return data


class ChoiceFormSet(BaseInlineFormSet):
    """Checks the choices as a whole against the question being saved with them."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        choices = [
            (form.cleaned_data["text"], form.cleaned_data.get("is_correct", False))
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        question = self.instance
        problems = bank.choice_problems(kind=question.kind, answer=question.answer, choices=choices)
        if problems:
            raise forms.ValidationError([f"{field}: {message}" for field, message in problems])


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset = ChoiceFormSet
    extra = 0
    ordering = ["position"]


class DraftFilter(admin.SimpleListFilter):
    title = "drafts"
    parameter_name = "drafts"

    def lookups(self, request, model_admin):
        return [("yes", "Drafts"), ("no", "Not drafts")]

    def queryset(self, request, queryset):
        # Tags are space-separated words; a draft carries the word "draft".
        drafts = queryset.filter(tags__regex=r"(^|\s)draft(\s|$)")
        if self.value() == "yes":
            return drafts
        if self.value() == "no":
            return queryset.exclude(id__in=drafts.values("id"))
        return queryset


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    form = QuestionForm
    inlines = [ChoiceInline]
    list_display = ["uid", "short_prompt", "kind", "deck", "source", "is_active"]
    list_filter = [DraftFilter, "is_active", "deck", "kind", "source"]
    search_fields = ["uid", "prompt", "answer", "source_quote", "tags"]
    list_select_related = ["deck", "source"]
    actions = ["approve", "activate", "deactivate"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["uid", "deck", "kind", "is_active", "tags"]}),
        ("Question", {"fields": ["prompt", "answer", "accepted_answers", "explanation"]}),
        ("Where it comes from", {"fields": ["source", "source_quote"]}),
    ]

    @admin.display(description="prompt")
    def short_prompt(self, obj):
        return Truncator(obj.prompt).chars(80)

    @admin.action(description="Approve the selected drafts (check, activate, untag)")
    def approve(self, request, queryset):
        approved, problems = 0, []
        for question in queryset.select_related("source").prefetch_related("choices"):
            found = ingest.approve(question)
            problems += found
            approved += not found
        self.message_user(request, f"{approved} draft(s) approved.", messages.SUCCESS)
        if problems:
            self.message_user(request, "Not approved: " + "; ".join(problems), messages.ERROR)

    @admin.action(description="Activate the selected questions")
    def activate(self, request, queryset):
        n = queryset.update(is_active=True)
        self.message_user(request, f"{n} question(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate the selected questions")
    def deactivate(self, request, queryset):
        n = queryset.update(is_active=False)
        self.message_user(request, f"{n} question(s) deactivated.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Learners' history is theirs: staff may look, not rewrite."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Card)
class CardAdmin(ReadOnlyAdmin):
    list_display = [
        "question",
        "user",
        "state",
        "due",
        "reps",
        "lapses",
        "is_leech",
        "is_suspended",
    ]
    list_filter = ["state", "is_leech", "is_suspended", ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["question__uid", "user__username"]
    list_select_related = ["question", "user"]
    actions = ["reset"]

    @admin.action(
        description="Reset the selected cards to new (their reviews stay)", permissions=["reset"]
    )
    def reset(self, request, queryset):
        tally.forget(queryset.values_list("user_id", flat=True).distinct())
        n = queryset.update(
            state=Card.State.NEW,
            step=None,
            stability=None,
            difficulty=None,
            due=None,
            last_review=None,
            reps=0,
            lapses=0,
            is_suspended=False,
            is_leech=False,
            buried_until=None,
        )
        self.message_user(request, f"{n} card(s) reset to new.", messages.SUCCESS)

    def has_reset_permission(self, request):
        # The one write staff may make on a learner's card.
        return request.user.has_perm("studyapp.change_card")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["reviewed_at", "user", "card", "rating", "was_correct", "is_practice"]
    list_filter = [
        "rating",
        "is_practice",
        "was_correct",
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["user", "card__question"]
    search_fields = ["card__question__uid", "user__username", "response"]
    date_hierarchy = "reviewed_at"


@admin.register(LearnerSettings)
class LearnerSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "desired_retention",
        "new_per_day",
        "reviews_per_day",
        "time_zone",
        "day_starts_at",
    ]
    search_fields = ["user__username"]
