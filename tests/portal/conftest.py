import pytest

from portal.app import create_app
from tests.portal.support import compile_translations, quiet_logging_after_tests


@pytest.fixture(scope="session", autouse=True)
def translations():
    compile_translations()
    yield
    quiet_logging_after_tests()


@pytest.fixture
def app(tx, settings):
    """The real app on a rolled-back runtime: each request's unit of work commits a savepoint."""
    return create_app(settings, runtime=tx)


@pytest.fixture
def client(app):
    return app.test_client()
