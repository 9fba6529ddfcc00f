"""Feature extractors for metrics: zoo-trained evaluators, the FID Inception-v3 and timm backbones.

Each one owns its preprocessing (resize, normalisation, grey/RGB rule) because the same
images fed differently give different features; ``FeatureExtractor.describe()`` puts that
preprocessing and the weights' sha256 into every score's protocol.
"""
