"""`evalkit publish`: check a checkpoint folder, then create the Hub repo and upload the folder.

The token comes from huggingface_hub's own lookup (HF_TOKEN, then the `hf auth login` file); it
is handed to HfApi and never printed, logged or put into an error message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import yaml
from huggingface_hub import HfApi, ModelCard, get_token
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
from huggingface_hub.utils import filter_repo_objects

from evalkit.errors import EvalkitError

# Hidden files and folders (.git, .cache, .DS_Store, ...) never go to the Hub; this covers
# huggingface_hub's own default ignore list, so the plan below is exactly what upload_folder sends.
IGNORE_PATTERNS = [".*", "*/.*"]
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


@dataclass(frozen=True)
class UploadFile:
    """One file of the upload: its path in the repo and its size in bytes."""

    path: str
    size: int


def upload_plan(model_dir: Path) -> list[UploadFile]:
    """The files `upload_folder` will send, in its order, after the ignore patterns."""
    if not model_dir.is_dir():
        raise EvalkitError(f"model folder {model_dir} does not exist")
    files = {p.relative_to(model_dir).as_posix(): p for p in sorted(model_dir.glob("**/*"))
             if p.is_file()}
    kept = filter_repo_objects(files, ignore_patterns=IGNORE_PATTERNS)
    return [UploadFile(path, files[path].stat().st_size) for path in kept]


def check_model_folder(model_dir: Path, plan: list[UploadFile]) -> None:
    """Raise one EvalkitError naming everything a publishable checkpoint folder lacks."""
    names = {f.path for f in plan}
    missing = []
    if "config.json" not in names:
        missing.append("config.json")
    missing += _missing_weights(model_dir, names)
    if "tokenizer_config.json" not in names or not names & set(_TOKENIZER_FILES):
        missing.append("tokenizer (tokenizer_config.json plus tokenizer.json, tokenizer.model "
                       "or vocab.json: save it with tokenizer.save_pretrained)")
    if "README.md" not in names:
        missing.append("README.md model card (write it with `evalkit card`)")
    if missing:
        raise EvalkitError(f"{model_dir} is not ready to publish: missing {'; '.join(missing)}")
    try:
        ModelCard.load(model_dir / "README.md")
    except (ValueError, yaml.YAMLError) as err:
        reason = str(err).splitlines()[0]
        raise EvalkitError(
            f"{model_dir}/README.md has invalid metadata ({reason}): rewrite it with `evalkit card`"
        ) from err


def _missing_weights(model_dir: Path, names: set[str]) -> list[str]:
    if not any(name.endswith(".safetensors") for name in names):
        hint = (": found .bin weights, save with safe_serialization=True"
                if any(name.endswith(".bin") for name in names) else "")
        return [f"weights (*.safetensors{hint})"]
    if "model.safetensors.index.json" not in names:
        return []
    index = json.loads((model_dir / "model.safetensors.index.json").read_text())
    shards = sorted(set(index.get("weight_map", {}).values()) - names)
    if not shards:
        return []
    return [f"weight shards {', '.join(shards)} (listed in model.safetensors.index.json)"]


def publish(
    model_dir: Path, repo_id: str, *, private: bool, exist_ok: bool, commit_message: str
) -> str:
    """create_repo + upload_folder with the user's token; return the commit URL."""
    token = get_token()
    if not token:
        raise EvalkitError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = HfApi(token=token)
    with _hub_errors(repo_id, token):
        try:
            api.create_repo(repo_id, private=private, exist_ok=exist_ok)
        except HfHubHTTPError as err:
            if _status(err) != 409:
                raise
            raise EvalkitError(
                f"repo {repo_id} already exists on the Hub: pass --exist-ok to add a commit to it"
            ) from err
        commit = api.upload_folder(
            repo_id=repo_id, folder_path=model_dir, commit_message=commit_message,
            ignore_patterns=list(IGNORE_PATTERNS),
        )
    return commit.commit_url


@contextmanager
def _hub_errors(repo_id: str, token: str) -> Iterator[None]:
    """Turn Hub and network failures into one-line EvalkitErrors that never show the token."""
    try:
        yield
    except HfHubHTTPError as err:
        status = _status(err)
        if status == 401:
            message = "the Hub rejected the token (401): check HF_TOKEN or run `hf auth login`"
        elif status == 403:
            message = f"the token may not write to {repo_id} (403): use one with write access"
        else:
            message = f"the Hub refused the upload to {repo_id}: {err}".splitlines()[0]
        raise EvalkitError(message.replace(token, "***")) from err
    except (httpx2.TransportError, OfflineModeIsEnabled) as err:
        message = (f"cannot reach the Hub ({type(err).__name__}: {err}); check the network or "
                   "HF_HUB_OFFLINE, or preview with --dry-run").splitlines()[0]
        raise EvalkitError(message.replace(token, "***")) from err


def _status(err: HfHubHTTPError) -> int | None:
    return err.response.status_code if err.response is not None else None
