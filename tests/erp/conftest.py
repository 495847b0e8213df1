import pytest

from tests.erp.po_support import actors


@pytest.fixture
def who(tx, world) -> dict:
    """The world's buyer, viewer and both suppliers' admins as actors (po_support.actors).
    Modules needing another set define their own `who`."""
    return actors(tx, world)
