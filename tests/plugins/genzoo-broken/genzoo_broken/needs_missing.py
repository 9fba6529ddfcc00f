"""A builder module whose dependency is not installed."""

import genzoo_missing_dependency  # noqa: F401


class Model:
    pass
