"""Every URL pattern of the project, read from the URL resolver, and a world of objects to fill
their parameters: shared by the authorization matrix (test_authorization.py) and the CSRF
tests (test_csrf.py), so a URL added to urls.py (or a model added to the admin) is walked by
both without anyone listing it."""

import re
import uuid
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from studyapp.models import Kind

from .factories import (
    PASSWORD,
    CardFactory,
    DeckFactory,
    LearnerSettingsFactory,
    QuestionFactory,
    SourceFactory,
    StaffFactory,
    UserFactory,
)

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
VISITORS = ("anonymous", "owner", "other", "staff")
# The answer the world's typed question takes as right.
RIGHT = "12.82 trillion yuan"


@dataclass(frozen=True)
class Route:
    route: str  # the full pattern, e.g. "card/<int:card_id>/grade/" or "admin/(?P<url>.*)$"
    name: str | None  # with its namespace, e.g. "grade", "admin:studyapp_card_change"

    @property
    def key(self) -> str:
        """How the matrix names it: the URL name, or the pattern for an unnamed one."""
        return self.name or self.route

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")

    def __str__(self):
        return self.key


def walk(resolver=None, prefix: str = "", namespace: str | None = None) -> list[Route]:
    """Every URL pattern below `resolver` (the project's root by default), depth first."""
    resolver = resolver or get_resolver()
    routes = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace) if n) or None
            routes += walk(pattern, route, inner)
        else:
            assert isinstance(pattern, URLPattern)
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            routes.append(Route(route, name))
    return routes


# Admin URLs of one model: admin:<app>_<model>_<view>, and the unnamed "<object_id>/" redirect.
ADMIN_MODEL_VIEW = re.compile(r"^admin:(?P<app>[a-z_]+?)_(?P<model>[a-z]+)_(?P<view>[a-z_]+)$")
ADMIN_MODEL_PATH = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/")


@dataclass
class World:
    """A learner (the owner) with cards, another learner, staff, and one object of every model
    the admin shows."""

    users: dict  # visitor name -> user (None for anonymous)
    card: object  # the owner's typed card: the card_id of every card URL
    undo_card: object  # the owner's card with one review to take back
    source: object
    deck: object
    objects: dict  # "app.model" -> an instance, for the admin's object URLs

    @property
    def owner(self):
        return self.users["owner"]

    def kwargs_for(self, route: Route) -> dict:
        """Values for the route's parameters."""
        names = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route.route)
        names = [a or b for a, b in names]
        values = {}
        for name in names:
            if name == "card_id":
                values[name] = self.card.id
            elif name == "slug":
                values[name] = self.source.slug
            elif name == "deck":
                values[name] = self.deck.slug
            elif name in ("object_id", "id"):
                values[name] = self.admin_object(route).pk
            elif name == "content_type_id":
                values[name] = ContentType.objects.get_for_model(self.source).id
            elif name == "app_label":
                values[name] = "studyapp"
            elif name == "url":
                values[name] = "no-such-page/"
            else:
                raise AssertionError(f"{route}: no value for the parameter {name!r}")
        return values

    def admin_object(self, route: Route):
        if route.name == "admin:view_on_site":
            return self.source
        match = ADMIN_MODEL_PATH.match(route.route)
        assert match, f"{route}: which model's object?"
        label = f"{match['app']}.{match['model']}"
        if label not in self.objects:  # a model added to the admin: make one
            raise AssertionError(f"{route}: add an instance of {label} to World.objects")
        return self.objects[label]

    def url(self, route: Route) -> str:
        kwargs = self.kwargs_for(route)
        if route.name:
            return reverse(route.name, kwargs=kwargs)
        # Unnamed: fill the pattern itself.
        url = route.route
        for name, value in kwargs.items():
            url = re.sub(rf"<(?:\w+:)?{name}>|\(\?P<{name}>[^)]*\)", str(value), url)
        return "/" + url.lstrip("^").rstrip("$")


def build_world(client_factory) -> World:
    """The objects every cell needs. `client_factory()` makes a fresh test client."""
    owner = UserFactory(username="owner")
    other = UserFactory(username="other")
    staff = StaffFactory(username="staff")
    for user in (owner, other, staff):
        LearnerSettingsFactory(user=user)
    deck = DeckFactory(slug="figures", name="Figures")
    source = SourceFactory(slug="jiangsu-report")
    question = QuestionFactory(deck=deck, source=source, kind=Kind.TYPED)
    card = CardFactory(user=owner, question=question)
    undo_question = QuestionFactory(deck=deck, source=source, kind=Kind.FLASHCARD)
    undo_card = CardFactory(user=owner, question=undo_question)
    # A real grade, so undo has something to take back.
    client = client_factory()
    client.force_login(owner)
    response = client.post(
        reverse("grade", args=[undo_card.id]),
        {"token": uuid.uuid4(), "rating": 3, "deck": "", "source": ""},
    )
    assert response.status_code == 302, response.content
    review = undo_card.reviews.get()
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    now = timezone.now()
    who = {"user_agent": "test", "ip_address": "192.0.2.1", "username": "nobody"}
    objects = {
        "auth.user": owner,
        "auth.group": Group.objects.create(name="editors"),
        "studyapp.source": source,
        "studyapp.deck": deck,
        "studyapp.question": question,
        "studyapp.card": card,
        "studyapp.review": review,
        "studyapp.learnersettings": owner.study_settings,
        "axes.accessattempt": AccessAttempt.objects.create(
            attempt_time=now, failures_since_start=1, **who
        ),
        "axes.accesslog": AccessLog.objects.create(attempt_time=now, **who),
        "axes.accessfailurelog": AccessFailureLog.objects.create(attempt_time=now, **who),
    }
    for label in objects:
        apps.get_model(label)  # a typo here would pass silently otherwise
    return World(
        users={"anonymous": None, "owner": owner, "other": other, "staff": staff},
        card=card,
        undo_card=undo_card,
        source=source,
        deck=deck,
        objects=objects,
    )


def settings_form(**changes) -> dict:
    """Valid data for the settings page."""
    return {
        "desired_retention": "0.9",
        "new_per_day": "20",
        "reviews_per_day": "200",
        "learning_steps": "1m 10m",
        "relearning_steps": "10m",
        "maximum_interval": "36500",
        "time_zone": "UTC",
        "day_starts_at": "4",
    } | changes


def post_data(route: Route, world: World, visitor: str) -> dict:
    """Valid POST data for the route, as its page would send it."""
    scope = {"deck": "", "source": ""}
    card_form = {"token": str(uuid.uuid4()), "shown_at": "0", **scope}
    user = world.users[visitor]
    credentials = {
        "username": user.username if user else world.owner.username,
        "password": PASSWORD,
    }
    return {
        "answer": card_form | {"response": RIGHT},
        "grade": card_form | {"response": RIGHT, "rating": "3"},
        "suspend": scope,
        "bury": scope,
        "undo": scope,
        "settings": settings_form(new_per_day="7"),
        "signup": {
            "username": "newcomer",
            "password1": "tea-and-Productive-forces",
            "password2": "tea-and-Productive-forces",
        },
        "login": credentials,
        "admin:login": credentials,
    }.get(route.key, {})


def get_data(route: Route) -> dict:
    """Query parameters the route's page would send."""
    if route.key == "reveal":
        return {"token": str(uuid.uuid4()), "deck": "", "source": ""}
    return {}
