"""Files -> clean article text with stable ids and metadata.

.txt and .md are read as text; .html goes through trafilatura's main-text extraction. Web-page
boilerplate that survives in scraped .txt files (navigation lines, the "More For You" block of
unrelated stories) is dropped, not indexed: it is not part of the article, and indexing it would let
unrelated stories answer questions about the article.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm"}
MAX_FILE_BYTES = 20 * 1024 * 1024
LOADER_VERSION = "1"  # bump when cleaning changes, so unchanged files are re-ingested once

# Whole lines that are site chrome, never article text.
NAV_LINES = {
    "skip to content",
    "search ai powered",
    "latest stories",
    "keep readingshow less",
    "keep reading",
    "show less",
    "read more",
    "advertisement",
    "share this article",
    "sign up",
    "subscribe",
}
# A line that starts a block of unrelated stories: everything from it on is dropped.
TRAILER_MARKERS = re.compile(
    r"^(more for you|related stories|related articles|you may also like|recommended)\s*$", re.I
)
DATE_RE = re.compile(
    r"\b(\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}|"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4}|\d{4}-\d{2}-\d{2})\b"
)


class LoadError(Exception):
    """A file that cannot be ingested; the message names the file and the reason."""


@dataclass
class LoadedDocument:
    doc_id: str
    source: str  # path relative to the ingested folder, posix style
    title: str
    text: str
    content_hash: str
    publisher: str | None = None
    date: str | None = None
    url: str | None = None
    dropped_lines: int = 0
    extra: dict = field(default_factory=dict)


def doc_id_for(source: str) -> str:
    """Stable across content changes, so a changed file replaces its own chunks."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def discover(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(file, root) pairs for every supported file under the given files/folders, sorted."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and file.suffix.lower() in SUPPORTED and not _hidden(file, path):
                    found.append((file, path))
        elif path.exists():
            found.append((path, path.parent))
        else:
            raise LoadError(f"{path}: no such file or folder")
    return found


def _hidden(file: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in file.relative_to(root).parts)


def load_file(file: Path, root: Path, manifest: dict[str, dict] | None = None) -> LoadedDocument:
    source = file.relative_to(root).as_posix() if file != root else file.name
    raw = _read_bytes(file)
    suffix = file.suffix.lower()
    if suffix in {".html", ".htm"}:
        text, meta = _extract_html(raw, file)
    else:
        text, meta = _decode(raw, file), {}
        if suffix in {".md", ".markdown"}:
            text, meta = _markdown(text)
    text, dropped = clean_text(text)
    if not text.strip():
        raise LoadError(f"{source}: no article text left after cleaning (empty or only boilerplate)")
    entry = (manifest or {}).get(source, {})
    title = entry.get("title") or meta.get("title") or derive_title(text)
    date = entry.get("date") or meta.get("date") or _find_date(text)
    content_hash = hashlib.sha256(f"{LOADER_VERSION}\n{title}\n{text}".encode()).hexdigest()
    return LoadedDocument(
        doc_id=doc_id_for(source),
        source=source,
        title=title,
        text=text,
        content_hash=content_hash,
        publisher=entry.get("publisher") or meta.get("publisher"),
        date=date,
        url=entry.get("url") or meta.get("url"),
        dropped_lines=dropped,
    )


def load_manifest(root: Path) -> dict[str, dict]:
    """Optional `manifest.json` in a folder: {"file name": {"title", "publisher", "url", "date"}}."""
    path = root / "manifest.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError(f"{path}: not valid JSON ({exc})") from exc
    return {item["file"]: item for item in data.get("documents", []) if "file" in item}


def _read_bytes(file: Path) -> bytes:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(f"{file}: {size} bytes is over the {MAX_FILE_BYTES} byte limit")
        raw = file.read_bytes()
    except PermissionError as exc:
        raise LoadError(f"{file}: not readable (permission denied)") from exc
    except OSError as exc:
        raise LoadError(f"{file}: not readable ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise LoadError(f"{file}: empty file")
    if b"\x00" in raw[:8192]:
        raise LoadError(f"{file}: binary file (NUL bytes), not text")
    return raw


def _decode(raw: bytes, file: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{file}: not UTF-8 text (byte {exc.start}); convert it to UTF-8 and ingest again") from exc


def _extract_html(raw: bytes, file: Path) -> tuple[str, dict]:
    import trafilatura

    html = _decode(raw, file)
    result = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False)
    if result is None:
        raise LoadError(f"{file}: no main text found in the HTML")
    data = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    text = data.get("text") or ""
    meta = {
        "title": data.get("title"),
        "date": data.get("date"),
        "publisher": data.get("sitename") or data.get("hostname"),
        "url": data.get("url"),
    }
    return text, meta


def _markdown(text: str) -> tuple[str, dict]:
    """Keep the words, drop markdown syntax that would otherwise be embedded and quoted."""
    title = None
    lines = []
    for line in text.splitlines():
        heading = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            line = heading.group(1)
        line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)  # images -> alt text
        line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)  # links -> text
        line = re.sub(r"(\*\*|__|`)", "", line)
        line = re.sub(r"^\s*([-*+]|\d+\.)\s+", "", line)
        line = re.sub(r"^\s*>\s?", "", line)
        if heading:
            title = title or line.strip()  # the heading's words, without emphasis/link syntax
        lines.append(line)
    return "\n".join(lines), {"title": title}


def clean_text(text: str) -> tuple[str, int]:
    """Drop navigation lines, repeated headline lines and trailing unrelated-story blocks.

    Returns the cleaned text (paragraphs separated by blank lines) and how many lines were dropped.
    """
    kept: list[str] = []
    seen: set[str] = set()
    dropped = 0
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        stripped = " ".join(line.split())
        if TRAILER_MARKERS.match(stripped):
            dropped += sum(1 for rest in lines[index:] if rest.strip())
            break
        if not stripped:
            continue
        key = stripped.lower()
        if key in NAV_LINES or (key in seen and len(stripped) < 200):
            dropped += 1
            continue
        seen.add(key)
        kept.append(stripped)
    return "\n\n".join(kept), dropped


def derive_title(text: str) -> str:
    """A headline-like first line, else the first sentence, shortened on a word boundary."""
    first = text.split("\n", 1)[0].strip()
    if len(first) <= 120 and not first.endswith((".", "!", "?")):
        return first
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    if len(sentence) <= 100:
        return sentence.rstrip(".")
    return sentence[:100].rsplit(" ", 1)[0] + "…"


def _find_date(text: str) -> str | None:
    match = DATE_RE.search(text[:2000])
    return match.group(0) if match else None
