"""The plugin contract: what a genzoo plugin may add to the zoo.

Each hook hands the plugin a ``register`` callback instead of asking for a return value, so
a plugin can register any number of things and the spec never changes when what can be
registered grows. A plugin is an ordinary module listed under the ``genzoo`` entry-point
group; it implements any of these with ``@genzoo.hookimpl``. Hook implementations must stay
cheap and must not import torch: they run whenever the zoo is listed.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("genzoo")
hookimpl = pluggy.HookimplMarker("genzoo")


@hookspec
def register_models(register):
    """Register model families and variants: call ``register(genzoo.ModelSpec(...))`` once each.

    A ModelSpec names its config class and builder as "module:attr" strings, so listing
    the zoo never imports model code.
    """


@hookspec
def register_datasets(register):
    """Register named data sources: ``register(genzoo.DatasetSpec(...))``."""


@hookspec
def register_metrics(register):
    """Register evaluation metrics: ``register(genzoo.MetricSpec(...))``."""


@hookspec
def register_feature_extractors(register):
    """Register feature extractors for metrics: ``register(genzoo.ExtractorSpec(...))``."""


@hookspec
def register_importers(register):
    """Register converters of other projects' checkpoints: ``register(genzoo.ImporterSpec(...))``.

    ``genzoo import FORMAT CHECKPOINT --out FOLDER`` runs the one named FORMAT and writes an
    ordinary pretrained folder, so weights trained elsewhere sample, translate and push like any.
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``genzoo`` click group (``cli`` is that group)."""
