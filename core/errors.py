"""One exception type for every failure a user can fix.

The CLI prints a GenzooError's message on one line and exits non-zero without a
traceback, so each message must name the file, field or model at fault and say what
to do about it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GenzooError(Exception):
    """A failure caused by input the user can change (a name, a file, a value)."""


class ConfigError(GenzooError):
    """A config field has an unknown name, a wrong type or a value out of range."""


class DataError(GenzooError):
    """A data source is missing, unreadable or malformed."""


class CapabilityError(GenzooError, AttributeError):
    """A model was asked for something it cannot do (e.g. log_prob of a GAN).

    It is also an AttributeError, because that is what it is: the model has no such method. So
    ``hasattr`` and the capability protocols' isinstance checks see the method as missing, while
    ``model.sample(...)`` on a model that cannot sample says so in the zoo's words."""


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """A ' Did you mean: a, b?' suffix for an unknown name, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""
