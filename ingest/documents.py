"""`citebot documents list | rm`: what is in the index, and explicit removal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ingest.loaders import doc_id_for
from rag.settings import Settings
from rag.store import ChromaStore


def run_documents_cli(settings: Settings, args: argparse.Namespace) -> int:
    store = ChromaStore(settings)
    if args.documents_command == "list":
        return _list(store, as_json=args.json)
    return _remove(store, args.targets)


def _list(store: ChromaStore, as_json: bool) -> int:
    entries = sorted(store.file_entries().values(), key=lambda e: str(e.get("key", "")))
    if as_json:
        keys = ("doc_id", "source", "key", "path", "title", "chunk_count", "size", "content_hash")
        print(json.dumps([{k: e.get(k) for k in keys} for e in entries], indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print("no documents: run `citebot ingest PATH` first", file=sys.stderr)
        return 0
    for e in entries:
        print(f"{e.get('doc_id')}  {int(e.get('chunk_count') or 0):>5} chunks  {e.get('source')}  ({e.get('key')})")
    print(f"{len(entries)} documents", file=sys.stderr)
    return 0


def _remove(store: ChromaStore, targets: list[str]) -> int:
    entries = store.file_entries()
    by_key = {str(e.get("key")): doc_id for doc_id, e in entries.items()}
    status = 0
    for target in targets:
        doc_id = _resolve(target, entries, by_key)
        if doc_id is None:
            print(f"citebot: no document {target!r}: see `citebot documents list`", file=sys.stderr)
            status = 1
            continue
        removed = store.delete_document(doc_id)
        print(f"removed  {doc_id}  {entries.get(doc_id, {}).get('source', '')}  ({removed} chunks)")
    store.mark_changed()
    return status


def _resolve(target: str, entries: dict[str, dict], by_key: dict[str, str]) -> str | None:
    if target in entries:
        return target
    if target in by_key:  # a --source key ("NAME:relative/path")
        return by_key[target]
    resolved = str(Path(target).expanduser().resolve())
    if resolved in by_key:
        return by_key[resolved]
    candidate = doc_id_for(resolved)
    return candidate if candidate in entries else None
