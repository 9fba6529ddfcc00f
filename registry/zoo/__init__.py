"""The zoo itself: the plugin contract, what plugins register, and the assembled registry.

Nothing in this subpackage imports torch: listing, describing and validating the zoo must
stay as fast as reading a few TOML files.
"""

from .assembly import ModelEntry, Zoo, get_zoo
from .hookspecs import hookimpl, hookspec
from .specs import CAPABILITIES, DatasetSpec, ExtractorSpec, ImporterSpec, MetricSpec, ModelSpec, resolve

__all__ = [
    "CAPABILITIES", "DatasetSpec", "ExtractorSpec", "ImporterSpec", "MetricSpec", "ModelEntry", "ModelSpec", "Zoo",
    "get_zoo", "hookimpl", "hookspec", "resolve",
]
