"""Recording evaluation results in a pretrained folder's config.json and model card."""

from __future__ import annotations

import json
import os
from pathlib import Path

from genzoo.core.atomic import atomic_write_text
from genzoo.core.metrics.protocol import Score, comparable, model_index
from genzoo.core.pretrained import CARD, CONFIG, SAMPLES, model_card, read_config
from genzoo.core.rundir import pretrained_folder, usage_location

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
    info["eval_scores"] = [s.to_dict() for s in scores]
    info["eval_results"] = model_index(scores, data=result.data, split=result.split,
                                       name=info.get("name") or result.source)
    atomic_write_text(folder / CONFIG, json.dumps(info, indent=2) + "\n")
    card = model_card(info, has_samples=(folder / SAMPLES).is_file(), location=usage_location(folder))
    atomic_write_text(folder / CARD, card)
    return folder
