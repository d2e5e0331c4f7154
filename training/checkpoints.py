"""Trainer checkpoints that may be resumed: only those made with the same settings.

A pipeline writes the settings a run depends on (model, data, training settings) to
``settings.json`` beside the Trainer's ``checkpoint-N`` folders; a rerun resumes the last
checkpoint when the settings match and refuses to continue one made with others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError

CHECKPOINT_SETTINGS = "settings.json"  # beside the Trainer's checkpoints: what they were made with


def resumable_checkpoint(checkpoints: Path, settings: dict[str, Any]) -> str | None:
    """The last checkpoint to resume from, if it was made with `settings`.

    Checkpoints made with other settings are an error, not silently continued: the adapter
    would mix two trainings.
    """
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if last is None:
        return None
    recorded_file = checkpoints / CHECKPOINT_SETTINGS
    recorded = json.loads(recorded_file.read_text()) if recorded_file.is_file() else {}
    if recorded != settings:
        changed = sorted(k for k in settings if recorded.get(k) != settings[k]) or ["unknown"]
        raise EvalkitError(
            f"{checkpoints} holds checkpoints made with other settings ({', '.join(changed)} "
            "differ); delete that folder to train afresh, or pass another --output-dir"
        )
    return last
