"""The orders' test catalog and customers, for releasing work to schedule."""

from tests.orders.conftest import catalog, customers  # noqa: F401
