"""Fails at import, as a plugin with a missing dependency would."""

import genzoo_missing_dependency  # noqa: F401
