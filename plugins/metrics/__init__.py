"""The built-in metrics and feature extractors, registered as any third-party plugin would.

Only names and "module:func" references live here (no torch import), so listing stays
cheap. A metric's ``compute`` takes a genzoo.core.metrics.context.EvalContext and returns
protocol-stamped Scores; an extractor's ``builder`` takes (name, weights=PATH|None) and
returns a genzoo.core.metrics.extractors.base.FeatureExtractor. A name ending in ':' is a
prefix: ``timm:`` serves every ``timm:ARCH``.
"""

from genzoo import ExtractorSpec, MetricSpec, hookimpl

_EVAL = "genzoo.core.metrics.context"


@hookimpl
def register_metrics(register):
    for name, func, higher, description in [
        ("fid", "compute_fid", False, "Fréchet distance between Gaussians of real and fake features (Heusel et al.)."),
        ("kid", "compute_kid", False, "Kernel distance: unbiased MMD^2, cubic polynomial kernel, mean over subsets."),
        ("pr", "compute_pr", True, "Precision, recall and F1 of k-NN manifolds, k=3 (Kynkäänniemi et al.)."),
        ("dc", "compute_dc", True, "Density and coverage, k=5 (Naeem et al.)."),
        ("is", "compute_is", True, "Inception Score, or its analogue with an evaluator's class probabilities."),
        ("psnr", "compute_psnr", True, "PSNR (dB) of reconstructions against their inputs (scikit-image's)."),
        ("ssim", "compute_ssim", True, "SSIM of reconstructions against their inputs (scikit-image's)."),
        ("bpd", "compute_bpd", False, "Bits per dimension of real test images under a model with log_prob."),
    ]:
        register(MetricSpec(name=name, compute=f"{_EVAL}:{func}", description=description, higher_is_better=higher))


@hookimpl
def register_feature_extractors(register):
    evaluator = "genzoo.core.metrics.extractors.evaluator:load_evaluator"
    for name, data in [("lenet-mnist", "MNIST"), ("lenet-fashion-mnist", "Fashion-MNIST"),
                       ("resnet-cifar10", "CIFAR-10")]:
        register(ExtractorSpec(name=name, builder=evaluator,
                               description=f"the zoo's classifier on {data}: the weights shipped with genzoo "
                                           "where there are some (`genzoo evaluator list`), else the one `genzoo "
                                           "evaluator train` made; penultimate features and class probabilities."))
    register(ExtractorSpec(name="fid-inception-v3",
                           builder="genzoo.core.metrics.extractors.fid_inception:build_fid_inception",
                           description="pytorch-fid's Inception-v3 (2048-d pool features); weights from a local file."))
    register(ExtractorSpec(name="timm:", builder="genzoo.core.metrics.extractors.timm_backbone:build_timm",
                           description="any timm backbone, timm:ARCH; pooled pre-logits, its own data config."))
