"""Hub locations (hf:// through huggingface_hub, file:// directory hubs): push, pull, list.

``location`` parses and checks locations and holds what both backends share; ``transfer``
is the one front; ``directory`` and ``huggingface`` are the two backends.
"""

from .location import Location, is_location, parse_location
from .transfer import list_repos, pull, push

__all__ = ["Location", "is_location", "list_repos", "parse_location", "pull", "push"]
