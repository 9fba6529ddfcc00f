"""Scanning an image folder for files that would break or skew training.

Real folders hold empty files, text saved as .png, half-copied JPEGs, CMYK scans and
the same picture twice. ``scan_folder`` finds each of these, says which file and why, and
returns the files that are safe to use; it never modifies anything. No torch here, so
``genzoo data check`` stays quick.

Problem kinds (a file is reported under the first that applies and is then not used):

- ``zero_byte``: the file is empty.
- ``non_image``: no image extension, or an image extension but no known image signature
  (e.g. text saved as ``.png``).
- ``too_large``: its header declares more than MAX_PIXELS pixels (a PNG of a few bytes can claim
  60000x60000: decoding it would take gigabytes). Read from the header alone, never decoded.
- ``corrupt``: starts like an image but PIL cannot open or verify it.
- ``truncated``: opens, but the pixel data ends early (a cut-off copy or download).
- ``unexpected_mode``: decodes, but in a mode genzoo does not convert faithfully to
  grey/RGB (CMYK, YCbCr, LAB, HSV, float ...); convert it yourself, e.g. to RGB.
- ``duplicate``: same bytes (sha256) as an earlier file in sorted path order, which is kept.
- ``outside_classes``: a file directly in the root of a folder that has class subfolders.

Labels: when the root holds subfolders, each (sorted) subfolder is a class and every image
under it has that label; a root with only files is unlabeled. Hidden files and folders
(names starting with ".") are skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, UnidentifiedImageError

from genzoo.core.atomic import sha256_file
from genzoo.core.errors import DataError

KINDS = ("zero_byte", "non_image", "too_large", "corrupt", "truncated", "unexpected_mode", "duplicate",
         "outside_classes")
MAX_PIXELS = 89_478_485
"""Largest image genzoo decodes: PIL's own decompression-bomb limit (a 256 MiB RGBA image), far above
any training image, far below what a hostile header can ask for."""
IMAGE_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm",
})
DEFAULT_MODES = ("1", "L", "RGB", "RGBA", "P", "LA", "I;16", "I")
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
               b"P1", b"P2", b"P3", b"P4", b"P5", b"P6")


def _looks_like_image(head: bytes) -> bool:
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def list_files(root: Path) -> tuple[list[tuple[Path, str | None]], tuple[str, ...]]:
    """Every non-hidden file under ``root`` as (relative path, class or None), and the classes.

    Sorted by relative path, so scans and cache keys do not depend on directory order.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"image folder {root} does not exist; check the path.")
    if not root.is_dir():
        raise DataError(f"{root} is a file, not a folder of images; pass the folder that holds the images.")
    top = sorted((e for e in os.scandir(root) if not e.name.startswith(".")), key=lambda e: e.name)
    classes = tuple(e.name for e in top if e.is_dir())
    files: list[tuple[Path, str | None]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            if name.startswith("."):
                continue
            rel = rel_dir / name
            files.append((rel, rel.parts[0] if len(rel.parts) > 1 else None))
    files.sort(key=lambda f: f[0].as_posix())
    return files, classes


def declared_size(path: Path) -> tuple[str, str] | None:
    """("too_large", detail) when the header declares more than MAX_PIXELS pixels, else None.

    ``Image.open`` is lazy: it parses the header and leaves the pixel data unread. PIL's own
    decompression-bomb check (an error beyond twice its limit, a warning below) is lifted for this
    one header read, so that the report can say what size the file claims; the limit that counts is
    MAX_PIXELS, applied here before anything is decoded.
    """
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as im:
            width, height = im.size
    except Exception:  # an unreadable header: the full check says what is wrong
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    if width * height > MAX_PIXELS:
        return "too_large", (f"its header declares {width}x{height} pixels ({width * height / 1e6:,.0f} megapixels, "
                             f"over the {MAX_PIXELS / 1e6:.0f} megapixel limit); not decoded")
    return None


def check_image(path: Path, expected_modes: tuple[str, ...] = DEFAULT_MODES) -> tuple[str, str] | None:
    """(kind, detail) of what is wrong with one file, or None when it is a usable image."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        size = path.stat().st_size
        if size == 0:
            return "zero_byte", "empty file (0 bytes)"
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        return "corrupt", f"cannot read: {exc}"
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return "non_image", f"extension {path.suffix or '(none)'!r} is not an image extension"
    if not _looks_like_image(head):
        return "non_image", f"not an image despite the {path.suffix} name (starts with {head[:8]!r})"
    if (too_large := declared_size(path)) is not None:
        return too_large
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            mode = im.mode
            im.load()
    except (UnidentifiedImageError, SyntaxError, ValueError, TypeError, IndexError, EOFError) as exc:
        return "corrupt", f"cannot be decoded: {exc}"
    except OSError as exc:
        text = str(exc)
        if "truncat" in text.lower() or "end of file" in text.lower():
            return "truncated", f"image data ends early: {text}"
        return "corrupt", f"cannot be decoded: {text}"
    except Exception as exc:  # PIL raises assorted errors on hostile files; none may stop a scan
        return "corrupt", f"cannot be decoded: {type(exc).__name__}: {exc}"
    if mode not in expected_modes:
        return "unexpected_mode", f"mode {mode} is not one of {', '.join(expected_modes)}; convert it to RGB"
    return None


@dataclass
class CleanReport:
    """What a folder scan found: the files to use (sorted) and every problem, by kind."""

    root: Path
    good: list[Path] = field(default_factory=list)
    problems: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    labels: list[int] | None = None
    """Label of each file in ``good`` (index into ``classes``), None for an unlabeled folder."""
    hashes: dict[Path, str] = field(default_factory=dict)
    """sha256 of each good file, reused for the cache key."""

    @property
    def counts(self) -> dict[str, int]:
        counts = {"good": len(self.good)}
        counts.update({kind: len(self.problems.get(kind, [])) for kind in KINDS})
        counts["scanned"] = counts["good"] + sum(len(v) for v in self.problems.values())
        return counts

    @property
    def n_problems(self) -> int:
        return sum(len(v) for v in self.problems.values())

    def summary(self) -> str:
        """One line: how many files are usable and how many of each problem."""
        c = self.counts
        parts = [f"{c[k]} {k.replace('_', '-')}" for k in KINDS if c[k]]
        labels = f"{len(self.classes)} classes" if self.classes else "unlabeled"
        issues = ", ".join(parts) if parts else "no problems"
        return f"{self.root}: {c['good']} of {c['scanned']} files usable ({labels}); {issues}"

    def format(self, max_paths: int = 10) -> str:
        """The summary plus the offending files by kind (at most ``max_paths`` each)."""
        lines = [self.summary()]
        for kind in KINDS:
            items = self.problems.get(kind, [])
            if not items:
                continue
            lines.append(f"{kind.replace('_', '-')} ({len(items)}):")
            for path, detail in items[:max_paths]:
                lines.append(f"  {self._rel(path)}: {detail}")
            if len(items) > max_paths:
                lines.append(f"  ... and {len(items) - max_paths} more")
        return "\n".join(lines)

    def _rel(self, path: Path) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (paths relative to ``root``)."""
        return {
            "root": str(self.root),
            "counts": self.counts,
            "classes": list(self.classes),
            "good": [self._rel(p) for p in self.good],
            "labels": self.labels,
            "problems": {k: [[self._rel(p), d] for p, d in v] for k, v in self.problems.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], root: Path | None = None) -> CleanReport:
        """Inverse of ``to_dict``; ``root`` relocates the paths (a cached report of a moved folder)."""
        root = Path(root if root is not None else data["root"])
        return cls(
            root=root,
            good=[root / p for p in data["good"]],
            problems={k: [(root / p, d) for p, d in v] for k, v in data["problems"].items()},
            classes=tuple(data["classes"]),
            labels=data["labels"],
        )


def scan_folder(path: Path | str, *, expected_modes: tuple[str, ...] = DEFAULT_MODES,
                hashes: dict[Path, str] | None = None) -> CleanReport:
    """Check every file under ``path``; read-only. ``hashes`` (relative path -> sha256) skips re-hashing."""
    root = Path(path)
    files, classes = list_files(root)
    report = CleanReport(root=root, classes=classes, labels=[] if classes else None)
    problems: dict[str, list[tuple[Path, str]]] = {}
    first_of: dict[str, Path] = {}
    class_index = {c: i for i, c in enumerate(classes)}
    for rel, cls in files:
        full = root / rel
        if classes and cls is None:
            problems.setdefault("outside_classes", []).append(
                (full, "file in the root of a folder with class subfolders; move it into a class folder"))
            continue
        found = check_image(full, expected_modes)
        if found is not None:
            problems.setdefault(found[0], []).append((full, found[1]))
            continue
        digest = (hashes or {}).get(rel) or sha256_file(full)
        if digest in first_of:
            problems.setdefault("duplicate", []).append(
                (full, f"same content as {first_of[digest].relative_to(root).as_posix()}"))
            continue
        first_of[digest] = full
        report.good.append(full)
        report.hashes[full] = digest
        if report.labels is not None and cls is not None:
            report.labels.append(class_index[cls])
    report.problems = {k: problems[k] for k in KINDS if k in problems}
    return report
