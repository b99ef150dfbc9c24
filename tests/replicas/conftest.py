"""pip/twine isolation for the replica tests, as in tests/pypi."""

from tests.pypi.conftest import _no_client_config, client_env  # noqa: F401 - fixtures
