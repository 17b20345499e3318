"""Root fixtures: each real server the tests talk to has its own plugin module."""

pytest_plugins = [
    "tests.fixtures.event_store",
    "tests.fixtures.mongo",
    "tests.fixtures.stripe_sandbox",
    "tests.fixtures.shop",
    "tests.fixtures.hypothesis_profiles",
]
