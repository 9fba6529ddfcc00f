"""Recording evaluation results in a pretrained folder's config.json and model card."""

from __future__ import annotations

import json
import os
from pathlib import Path

from genzoo.core.atomic import atomic_write_text
from genzoo.core.metrics.protocol import Score, comparable
from genzoo.core.model_card import CARD, SAMPLES, model_card, with_scores
from genzoo.core.rundir import PRETRAINED_CONFIG, pretrained_folder, read_config, usage_location

from .evaluate import EvalResult


def record_in_card(pretrained_dir: str | os.PathLike, result: EvalResult) -> Path:
    """Put ``result`` (values with protocols) into a pretrained folder's config.json and card.

    Results under other protocols already there are kept beside the new ones (a card may carry
    FID with the LeNet evaluator and with Inception); a result with the same metric and an
    identical protocol is replaced. Both files are rewritten atomically; the card is rendered
    by the same function save_pretrained uses, so it keeps its provenance and usage snippet.
    """
    folder = pretrained_folder(pretrained_dir)
    info = read_config(folder)
    old = [Score.from_dict(s) for s in info.get("eval_scores", [])]
    kept = [o for o in old if not any(o.name == n.name and comparable(o, n) for n in result.scores)]
    scores = kept + list(result.scores)
    info = with_scores(info, scores, data=result.data, split=result.split, source=result.source)
    atomic_write_text(folder / PRETRAINED_CONFIG, json.dumps(info, indent=2) + "\n")
    card = model_card(info, has_samples=(folder / SAMPLES).is_file(), location=usage_location(folder))
    atomic_write_text(folder / CARD, card)
    return folder
