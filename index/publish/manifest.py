"""manifest.json: what went into a publication and the SHA-256 of everything that came out.

``verify`` compares every file a rebuild makes with the publication's, byte for byte, as it is
made (in memory: nothing is written), and names the first that differs or is extra, and every one
missing (plus changed inputs and versions).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from index.io import sha256_file
from index.publish.fonts import FontChoice

NAME = "manifest.json"
PACKAGES = (
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "pillow",  # encodes the PNGs
    "openpyxl",
    "compute-index",
)


def versions() -> dict[str, str]:
    """Python and the versions of the packages that shape the output bytes."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def hash_inputs(inputs: Mapping[str, str | Path] | Iterable[str | Path]) -> dict[str, str]:
    """label → SHA-256. A mapping gives labels; plain paths are labelled by the path as given
    (pass paths relative to the project root so the manifest does not depend on the checkout)."""
    pairs = (
        inputs.items() if isinstance(inputs, Mapping) else ((Path(p).as_posix(), p) for p in inputs)
    )
    return {str(label): sha256_file(path) for label, path in pairs}


def find_seeds(config: Any, prefix: str = "") -> dict[str, Any]:
    """Every configuration entry whose key contains "seed", by dotted path."""
    if not isinstance(config, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= find_seeds(value, f"{path}.")
        elif "seed" in str(key).lower():
            out[path] = value
    return out


def font_entry(font: FontChoice | None) -> dict[str, str] | None:
    """The CJK font that rendered the figures (family, file name, SHA-256): it changes PNG/SVG bytes."""
    if font is None:
        return None
    return {"family": font.name, "file": font.path.name, "sha256": sha256_file(font.path)}


def build(
    *,
    edition: str,
    year: int,
    config: Mapping[str, Any],
    inputs: Mapping[str, str],
    seeds: Mapping[str, Any],
    outputs: Mapping[str, Any],
    font: FontChoice | None,
) -> dict[str, Any]:
    """The manifest as plain data."""
    return {
        "edition": edition,
        "year": year,
        "config": dict(config),
        "inputs": dict(inputs),
        "seeds": dict(seeds),
        "versions": versions(),
        "font": font_entry(font),
        "outputs": dict(outputs),
    }


def dumps(manifest: Mapping[str, Any]) -> str:
    """Stable JSON: sorted keys, two-space indent, UTF-8 text, final newline."""
    return (
        json.dumps(
            manifest, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False, default=str
        )
        + "\n"
    )


def read(folder: str | Path) -> dict[str, Any]:
    return json.loads((Path(folder) / NAME).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Verification:
    """Outcome of a rebuild: relative paths that differ, are missing from / extra in the rebuild.

    ``complete=False``: the comparison stopped at the first file that differs or is extra (the
    files after it were not made)."""

    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    inputs_changed: list[str] = field(default_factory=list)
    versions_changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    complete: bool = True

    @property
    def ok(self) -> bool:
        return not (self.differing or self.missing or self.extra)

    def lines(self) -> list[str]:
        """Human-readable findings, one per line (empty when everything matches)."""
        out = [f"differs: {p}" for p in self.differing]
        out += [f"missing from rebuild: {p}" for p in self.missing]
        out += [f"extra in rebuild: {p}" for p in self.extra]
        if not self.complete:
            out.append("stopped at the first difference: the files after it were not compared")
        out += [f"input changed since publication: {p}" for p in self.inputs_changed]
        out += [f"version {k}: {a} → {b}" for k, (a, b) in self.versions_changed.items()]
        return out


def changed_inputs(manifest: Mapping[str, Any], current: Mapping[str, str | Path]) -> list[str]:
    """Inputs (labels) that are gone, new, or no longer have the recorded SHA-256, given the
    files that would feed a rebuild now (label → path)."""
    recorded = manifest.get("inputs", {})
    out = [
        label
        for label, digest in recorded.items()
        if label not in current or sha256_file(current[label]) != digest
    ]
    return sorted(out + [label for label in current if label not in recorded])


def verify(
    folder: str | Path,
    made: Iterable[tuple[str, bytes]],
    *,
    current: Mapping[str, str | Path] | None = None,
) -> Verification:
    """Compare every file a rebuild makes (path in the folder, bytes), as it comes, with the
    same file of the publication ``folder``, byte for byte and in memory (nothing is written).

    The first file that differs, or that the publication lacks, ends the comparison (the rebuild
    is not continued: ``complete=False``); files of the publication the rebuild did not make are
    missing. ``current``: the input files a rebuild reads now (label → path), to report the inputs
    changed since publication; the package versions are compared with this environment's.
    """
    folder = Path(folder)
    recorded = read(folder)
    inputs_changed = changed_inputs(recorded, current) if current is not None else []
    before, now = recorded.get("versions", {}), versions()
    changed = {
        k: (before.get(k, ""), now.get(k, ""))
        for k in sorted(before.keys() | now.keys())
        if before.get(k) != now.get(k)
    }
    published = {
        p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()
    }
    seen: set[str] = set()
    for rel, content in made:
        seen.add(rel)
        if rel not in published or published[rel].read_bytes() != content:
            found = ([], [rel]) if rel not in published else ([rel], [])
            return Verification(found[0], [], found[1], inputs_changed, changed, complete=False)
    missing = sorted(published.keys() - seen)
    return Verification([], missing, [], inputs_changed, changed)
