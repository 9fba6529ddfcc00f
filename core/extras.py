"""Optional dependencies: each belongs to an extra of the genzoo distribution, named when it is missing.

Tuning (optuna, a PostgreSQL driver), Ray and Slurm (submitit) are engines a user brings for one
command; genzoo imports them only in the command that uses them, and a missing one is one line
that says which extra installs it, never an ImportError traceback from deep inside.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import GenzooError


def require(module: str, extra: str, what: str) -> ModuleType:
    """``module`` imported, or a GenzooError naming the extra: ``pip install 'genzoo[EXTRA]'``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise GenzooError(f"{what} needs {module.split('.')[0]}, which is not installed: "
                          f"pip install 'genzoo[{extra}]'") from None
