"""Which files an ingest run reads, and the identity of each: safe on any folder a user points at.

A document is identified by its resolved absolute path, or, with `--source NAME`, by NAME plus the
path relative to the folder (for corpora mounted at different places, e.g. /corpus in a container).
Symlinks are followed only when they stay inside the folder given; FIFOs, sockets, devices, symlink
loops and unsupported types are reported as skipped, never opened (a FIFO would block forever).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ingest.formats import GZIP_SUFFIX, SUPPORTED, document_suffix, is_plain_text_file
from ingest.loaders import LoadError, doc_id_for

IGNORED_NAMES = {"manifest.json"}  # the folder's metadata manifest, not a document


@dataclass(frozen=True)
class Candidate:
    path: Path  # resolved, absolute
    root: Path  # the folder given (resolved), or the file's folder for a file argument
    source: str  # for display: relative to root, posix style
    key: str  # the identity

    @property
    def doc_id(self) -> str:
        return doc_id_for(self.key)


@dataclass(frozen=True)
class Scope:
    """What this run may prune: documents under these folders/files, or of this --source name."""

    paths: tuple[str, ...] = ()
    source_name: str | None = None

    def covers(self, key: str) -> bool:
        if self.source_name is not None:
            return key.startswith(f"{self.source_name}:")
        return any(key == p or key.startswith(p.rstrip("/") + "/") for p in self.paths)


@dataclass
class Discovered:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path for display, reason)
    scope: Scope = field(default_factory=Scope)
    present_keys: set[str] = field(default_factory=set)  # keys of files that exist, ingestible or not


def key_for(path: Path, root: Path, source_name: str | None) -> str:
    if source_name is None:
        return str(path)
    rel = path.relative_to(root).as_posix() if path != root else path.name
    return f"{source_name}:{rel}"


def discover(paths: list[Path], source_name: str | None = None) -> Discovered:
    """Every supported file under the given files/folders, sorted, with what was skipped and why."""
    if source_name is not None and len(paths) != 1:
        raise LoadError("--source NAME names one folder: give exactly one path with it")
    if source_name is not None and (not source_name.strip() or ":" in source_name):
        raise LoadError("--source NAME must be a non-empty name without ':'")
    out = Discovered()
    seen: set[Path] = set()
    scope_paths: list[str] = []
    for given in paths:
        try:
            mode = given.stat().st_mode
        except FileNotFoundError:
            raise LoadError(f"{given}: no such file or folder") from None
        except OSError as exc:
            raise LoadError(f"{given}: cannot be read ({exc.strerror or exc})") from None
        resolved = given.resolve()
        scope_paths.append(str(resolved))
        if stat.S_ISDIR(mode):
            _walk(resolved, out, seen, source_name)
        elif stat.S_ISREG(mode):
            _consider(resolved, resolved.parent, resolved.name, out, seen, source_name, explicit=True)
        else:
            out.skipped.append((str(given), "not a regular file (FIFO, socket or device): not read"))
    out.scope = Scope(tuple(scope_paths), source_name)
    out.candidates.sort(key=lambda c: c.key)
    return out


def _walk(root: Path, out: Discovered, seen: set[Path], source_name: str | None) -> None:
    def on_error(exc: OSError) -> None:
        out.skipped.append((exc.filename or str(root), f"folder not readable ({exc.strerror or exc})"))

    for folder, dirs, files in os.walk(root, followlinks=False, onerror=on_error):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in list(dirs):
            if (here / name).is_symlink():  # os.walk lists symlinked folders as folders but does not descend
                rel = (here / name).relative_to(root).as_posix()
                out.skipped.append((rel, "symlinked folder: not followed (ingest its target directly)"))
        for name in sorted(files):
            if name.startswith(".") or name in IGNORED_NAMES:
                continue
            path = here / name
            _consider(path, root, path.relative_to(root).as_posix(), out, seen, source_name, explicit=False)


def _consider(
    path: Path, root: Path, display: str, out: Discovered, seen: set[Path], source_name: str | None, explicit: bool
) -> None:
    suffix = document_suffix(path.name)
    if suffix not in SUPPORTED and not (suffix == "" and is_plain_text_file(path)):
        if not explicit and suffix in {".json", ".yaml", ".yml", ".toml"}:
            return  # configuration next to the documents: not worth a line in the summary
        out.present_keys.add(key_for(path, root, source_name))
        out.skipped.append((display, _loop_or_unsupported(path, suffix)))
        return
    try:
        info = path.lstat()
    except OSError as exc:
        out.skipped.append((display, f"not readable ({exc.strerror or exc})"))
        return
    target = path
    if stat.S_ISLNK(info.st_mode):
        try:
            target = path.resolve(strict=True)
        except RuntimeError:
            out.skipped.append((display, "symlink loop: not followed"))
            return
        except OSError:
            out.skipped.append((display, "broken symlink: its target does not exist"))
            return
        if not explicit and not target.is_relative_to(root):
            out.skipped.append((display, f"symlink to {target}, outside the folder: not followed"))
            return
        info = target.stat()
    key = key_for(path if source_name is not None else target, root, source_name)
    out.present_keys.add(key)
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (FIFO, socket or device)"
        out.skipped.append((display, f"{kind}: not read"))
        return
    if target in seen:
        return  # reached twice (a symlink to a file already listed): one document
    seen.add(target)
    out.candidates.append(Candidate(target, root, display, key))


def _loop_or_unsupported(path: Path, suffix: str) -> str:
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            return "symlink loop: not followed"
        except OSError:
            pass
    shown = suffix + GZIP_SUFFIX if suffix and path.name.lower().endswith(GZIP_SUFFIX) else suffix
    return f"unsupported type {shown or '(no extension)'}; supported: {_supported()}"


def _supported() -> str:
    return " ".join(sorted(SUPPORTED)) + f" (each also as {GZIP_SUFFIX}), .rst.txt, text files without an extension"
