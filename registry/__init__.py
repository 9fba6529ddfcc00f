"""genzoo: a plugin-based zoo of generative image models.

    import genzoo
    genzoo.list_models("dcgan*")
    model = genzoo.create_model("dcgan-mnist")
    run = genzoo.train("dcgan-mnist", data="mnist", steps=500)
    images = run.model.sample(64)

Importing genzoo imports no torch: the public functions below import what they need when
called, so ``genzoo list`` and ``genzoo info`` stay fast.
"""

from genzoo.core.errors import CapabilityError, ConfigError, DataError, GenzooError
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig
from genzoo.core.version import __version__

from .api import create_model, list_models, load_data, model_info, train
from .evaluation import evaluate
from .hookspecs import hookimpl
from .hub import pull, push
from .specs import DatasetSpec, ExtractorSpec, MetricSpec, ModelSpec

__all__ = [
    "CapabilityError",
    "ConfigError",
    "DataError",
    "DatasetSpec",
    "ExtractorSpec",
    "GenzooError",
    "MetricSpec",
    "ModelSpec",
    "Preprocessing",
    "TrainConfig",
    "__version__",
    "create_model",
    "evaluate",
    "hookimpl",
    "list_models",
    "load_data",
    "model_info",
    "pull",
    "push",
    "train",
]
