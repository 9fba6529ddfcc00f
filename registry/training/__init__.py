"""Training a registered model on a data source with the shared trainer, and resuming a run."""
