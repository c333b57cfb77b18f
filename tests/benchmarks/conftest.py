"""The engine tests' small synthetic catalog and hashing embedder, shared with the benchmark tests."""
from tests.engine.conftest import data, embedder, make_data  # noqa: F401 - fixtures used by name
