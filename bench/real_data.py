"""Rebuild public real defect-image sets in the dataset-folder layout, for evaluation only.

The images are third-party data: they are never committed. Fetch each source repository as a
git snapshot first (the `search` tool's fetch verb mirrors it under /work/.mirror/OWNER+NAME/repo,
or use a plain ``git clone``), then::

    python bench/real_data.py --mirror /work/.mirror --out runs/real     # every set found

writes ``runs/real/<set>/train/good``, ``test/good`` and ``test/<defect>`` (``runs/`` is
git-ignored). Each set is read at the commit named below, so the folders are the same wherever
they are rebuilt:

- ``elpv``: zae-bayern/elpv-dataset @ 411fd729dad19511883306aa85e52f1962cba581,
  ``src/elpv_dataset/data/images`` with ``labels.csv`` (electroluminescence images of solar
  cells, 300x300 grey). Good = defect probability 0, defective = probability 1.0 (the uncertain
  1/3 and 2/3 are left out); defects are named by cell type (``defect_mono``/``defect_poly``).
  The goods are split 70/30 by a hash of the file name.
- ``bsdata``: 2Obe/BSData @ 7204b28a621733c01cd75899ed9ea27f6ea0b9e3, ``data/`` with
  ``image_data.json`` (ball-screw spindle surfaces; images with a pitting annotation are the
  defects, the rest good; many sizes). The goods are split by the time in their file name: the
  earliest 70% to fit on, the later ones to test, so no neighbouring frames leak into the test.
- ``magtile``: abin24/Magnetic-tile-defect-datasets. @ cc4eb530b57b9cb7225bf76023873043ffd50655,
  ``MT_<type>/Imgs/*.jpg`` (magnetic tile surfaces, grey, many sizes; the ``.png`` beside each is
  its mask). ``MT_Free`` are the goods, split 70/30 by a hash of the file name; ``MT_Blowhole``,
  ``MT_Break``, ``MT_Crack``, ``MT_Fray`` and ``MT_Uneven`` are the defects, named by type.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

__all__ = ["SOURCES", "build"]

SOURCES = {
    "elpv": ("zae-bayern/elpv-dataset", "411fd729dad19511883306aa85e52f1962cba581"),
    "bsdata": ("2Obe/BSData", "7204b28a621733c01cd75899ed9ea27f6ea0b9e3"),
    "magtile": (
        "abin24/Magnetic-tile-defect-datasets.",
        "cc4eb530b57b9cb7225bf76023873043ffd50655",
    ),
}
TRAIN_FRACTION = 0.7


class _Snapshot:
    """Read files of one commit of a mirrored git repository."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.git_dir, self.commit = git_dir, commit

    def read(self, path: str) -> bytes:
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "show", f"{self.commit}:{path}"],
            check=True,
            capture_output=True,
        ).stdout

    def names(self, folder: str) -> list[str]:
        out = subprocess.run(
            [
                "git",
                f"--git-dir={self.git_dir}",
                "ls-tree",
                "--name-only",
                self.commit,
                f"{folder}/",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [line.rsplit("/", 1)[-1] for line in out.splitlines()]


def _hashed_train(name: str) -> bool:
    h = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    return h / 2**32 < TRAIN_FRACTION


def _write(out: Path, split: str, label: str, name: str, data: bytes, counts: Counter[str]) -> None:
    folder = out / split / label
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    counts[f"{split}/{label}"] += 1


def _elpv(snap: _Snapshot, out: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    base = "src/elpv_dataset/data"
    rows = io.StringIO(snap.read(f"{base}/labels.csv").decode())
    for line in rows:
        parts = line.split()
        if len(parts) != 3:
            continue
        path, prob, kind = parts[0], float(parts[1]), parts[2]
        name = path.rsplit("/", 1)[-1]
        if prob == 0.0:
            split = "train" if _hashed_train(name) else "test"
            _write(out, split, "good", name, snap.read(f"{base}/{path}"), counts)
        elif prob == 1.0:
            _write(out, "test", f"defect_{kind}", name, snap.read(f"{base}/{path}"), counts)
    return counts


def _bsdata(snap: _Snapshot, out: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    images = json.loads(snap.read("image_data.json"))["images"]
    goods = sorted(
        (im["filename"] for im in images if im["annotations"] is None),
        key=lambda n: (n.split("_")[1], n),  # 01_<yymmddHHMMSS>_... : capture time
    )
    cut = round(len(goods) * TRAIN_FRACTION)
    for k, name in enumerate(goods):
        _write(out, "train" if k < cut else "test", "good", name, snap.read(f"data/{name}"), counts)
    for im in images:
        if im["annotations"] is not None:
            name = im["filename"]
            _write(out, "test", "pitting", name, snap.read(f"data/{name}"), counts)
    return counts


def _magtile(snap: _Snapshot, out: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for kind in ("Free", "Blowhole", "Break", "Crack", "Fray", "Uneven"):
        folder = f"MT_{kind}/Imgs"
        for name in sorted(n for n in snap.names(folder) if n.endswith(".jpg")):
            data = snap.read(f"{folder}/{name}")
            if kind == "Free":
                _write(out, "train" if _hashed_train(name) else "test", "good", name, data, counts)
            else:
                _write(out, "test", kind.lower(), name, data, counts)
    return counts


BUILDERS: dict[str, Callable[[_Snapshot, Path], Counter[str]]] = {
    "elpv": _elpv,
    "bsdata": _bsdata,
    "magtile": _magtile,
}


def build(name: str, mirror: Path, out: Path) -> dict[str, int] | None:
    """Build one set into ``out/<name>``; ``None`` when its snapshot is not in ``mirror``."""
    repo, commit = SOURCES[name]
    git_dir = mirror / repo.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        return None
    dest = out / name
    if dest.exists() and any(dest.iterdir()):
        return dict(Counter(f"{p.parent.parent.name}/{p.parent.name}" for p in dest.glob("*/*/*")))
    counts = BUILDERS[name](_Snapshot(git_dir, commit), dest)
    return dict(sorted(counts.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path("runs/real"))
    ap.add_argument("--sets", nargs="*", default=sorted(SOURCES), choices=sorted(SOURCES))
    args = ap.parse_args(argv)
    built = {}
    for name in args.sets:
        counts = build(name, args.mirror, args.out)
        repo, commit = SOURCES[name]
        if counts is None:
            print(f"{name}: no snapshot of {repo} under {args.mirror}; fetch it", file=sys.stderr)
            continue
        print(f"{name}: {repo}@{commit[:10]} -> {args.out / name}: {counts}")
        built[name] = counts
    print(json.dumps({"out": str(args.out), "sets": built}))
    return 0 if built else 1


if __name__ == "__main__":
    raise SystemExit(main())
