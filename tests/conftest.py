import pytest

from .factories import PASSWORD, StaffFactory, UserFactory


@pytest.fixture
def learner(db):
    return UserFactory()


@pytest.fixture
def other_learner(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def learner_client(client, learner):
    client.login(username=learner.username, password=PASSWORD)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture(autouse=True)
def _no_fuzz(settings):
    """Scheduling is exact in tests: fsrs's fuzz is random."""
    settings.STUDY_FSRS_FUZZ = False
