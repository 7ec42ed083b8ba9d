"""A file or a folder of Markdown/MDX docs → one draft entry per section.

Each entry:

- ``id``: ``docs:<file>#<anchor>``, stable across re-imports and unique (the
  anchor is the one the site itself makes unique on its page);
- ``section``: ``<file>#<heading path>``, headings as plain text (the label a
  driver scores a citation by);
- ``questions``: the heading path (``Troubleshooting > Consumer fails …``);
- ``answer``: the section's cleaned text, links and images absolute;
- ``url``: base URL + page path + anchor, as the site builds them.

``<file>`` is the page's path inside the imported folder with that folder's
own name in front: importing ``project/docs/`` gives ``docs/setup.md`` (the
path as it sits in its repository, when docs live in a top-level folder),
and two imported folders never share ids unless they share a name. ``root``
(``--root DIR``) names files relative to ``DIR`` instead. Page links are
always built from the imported folder, which is the site's docs root.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from knowledge.docs.page import front_matter, parse_page
from knowledge.docs.sites import SITES, Site, detect_site, normalise_base_url
from knowledge.entries import Draft, Entry
from knowledge.files import KnowledgeFileError, Parsed, Problem

logger = logging.getLogger(__name__)

SUFFIXES = (".md", ".mdx", ".markdown")
SKIP_DIRS = {"node_modules", "__pycache__", "site", "build"}
MAX_SECTION_CHARS = 200_000
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True, slots=True)
class DocsSource:
    """What was imported: the files' common prefix in section labels and the site."""

    prefix: str
    files: tuple[str, ...]
    site: str
    base_url: str | None

    def covers(self, entry: Entry) -> bool:
        """Was ``entry`` imported from these docs (so a re-import stands for it)?"""
        if entry.section is None:
            return False
        file = entry.section.split("#", 1)[0]
        return file == self.prefix if self.prefix.lower().endswith(SUFFIXES) else file.startswith(self.prefix)


def docs_files(path: Path) -> list[Path]:
    """The Markdown/MDX pages under ``path`` (or ``path`` itself), sorted."""
    if path.is_file():
        return [path]
    found = []
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path).parts
        if any(part.startswith(".") or part in SKIP_DIRS for part in rel):
            continue
        if file.is_file() and file.suffix.lower() in SUFFIXES:
            found.append(file)
    return found


def is_docs(path: Path) -> bool:
    """A folder, or a Markdown/MDX file: what ``read_docs`` takes."""
    return path.is_dir() or path.suffix.lower() in SUFFIXES


def read_docs(path: Path, *, base_url: str | None = None, root: Path | None = None,
              site: str | None = None, space: str | None = None) -> tuple[Parsed, DocsSource]:
    """Drafts for every section of the docs at ``path``."""
    if not path.exists():
        raise KnowledgeFileError(f"{path}: no such file or folder")
    try:
        base = normalise_base_url(base_url)
    except ValueError as exc:
        raise KnowledgeFileError(str(exc)) from exc
    folder = path if path.is_dir() else path.parent
    root = root if root is not None else folder.resolve().parent
    try:
        prefix = folder.resolve().relative_to(root.resolve()).as_posix()
    except ValueError as exc:
        raise KnowledgeFileError(f"--root {root} must contain {folder}") from exc
    prefix = "" if prefix == "." else prefix + "/"
    problems: list[Problem] = []
    texts: dict[str, str] = {}
    for file in docs_files(path):
        rel = file.relative_to(folder).as_posix()
        try:
            texts[rel] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(rel, f"cannot read it ({exc})"))
    if not texts and not problems:
        raise KnowledgeFileError(f"{path}: no Markdown or MDX pages (.md, .mdx) in it")
    if site is not None and site not in SITES:
        raise KnowledgeFileError(f"unknown docs site {site!r}; use {', '.join(SITES)}")
    kind, options = (site, {}) if site else detect_site(folder, list(texts.items()), base)
    the_site = Site(kind, base, directory_urls=bool(options.get("directory_urls", True)))
    metas = {rel: front_matter(text.replace("\r\n", "\n"))[0] for rel, text in texts.items()}
    drafts: list[Draft] = []
    for rel, text in texts.items():
        name = posixpath.basename(rel)
        if kind == "docusaurus" and name.startswith("_") and path.is_dir():
            continue  # a partial: inlined where a page imports it
        try:
            drafts.extend(_page_drafts(rel, text, site=the_site, metas=metas, folder=folder,
                                       prefix=prefix, space=space))
        except Exception as exc:  # one broken page never stops the others
            logger.exception("docs page %s could not be read", rel)
            problems.append(Problem(rel, f"cannot parse it ({type(exc).__name__}: {exc})"))
    if not drafts and not problems and not path.is_dir():
        problems.append(Problem(path.name, "no headings, so nothing to import: each heading (#, ##, …) "
                                           "and the text under it becomes an entry"))
    logger.info("docs at %s: %d pages, %d sections (site: %s, links: %s)", path, len(texts),
                len(drafts), kind, base or "none: no --base-url")
    source = DocsSource(prefix=prefix if path.is_dir() else prefix + path.name, files=tuple(
        prefix + rel for rel in texts), site=kind, base_url=base)
    return Parsed(tuple(drafts), tuple(problems)), source


def _page_drafts(rel: str, text: str, *, site: Site, metas: dict[str, dict[str, Any]], folder: Path,
                 prefix: str, space: str | None) -> list[Draft]:
    meta = metas.get(rel, {})

    def resolve(target: str) -> str | None:
        target = target.strip()
        if _SCHEME.match(target):
            return target
        if target.startswith("//"):
            return "https:" + target
        path, _, fragment = target.partition("#")
        if not path:
            page = site.page_url(rel, meta)
            return f"{page}#{fragment}" if page and fragment else page
        if path.startswith("/"):
            return site.site_url(target)
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), unquote(path)))
        anchor = f"#{fragment}" if fragment else ""
        if joined.lower().endswith(SUFFIXES) and not joined.startswith("../"):
            page = site.page_url(joined, metas.get(joined))
            return f"{page}{anchor}" if page else None
        if site.kind == "docusaurus" and not posixpath.splitext(joined)[1]:
            page = site.page_url(rel, meta)
            return None if page is None else _join(page, target)
        if joined.startswith("../"):
            page = site.page_url(rel, meta)
            return None if page is None else _join(page, target)
        url = site.asset_url(joined)
        return f"{url}{anchor}" if url else None

    def partial(source: str) -> str | None:
        if _SCHEME.match(source) or source.startswith("@"):
            return None
        target = (folder / posixpath.dirname(rel) / source).resolve()
        if target.suffix.lower() not in SUFFIXES or not target.is_file():
            return None
        return target.read_text(encoding="utf-8", errors="replace")

    page = parse_page(text, site_kind=site.kind, resolve=resolve, partial=partial)
    label_file = prefix + rel
    drafts = []
    for section in page.sections:
        heading_path = " > ".join(section.path)
        answer = section.text[:MAX_SECTION_CHARS]
        drafts.append(Draft(
            questions=(heading_path,), answer=answer, id=section_id(label_file, section.anchor),
            space=space or "default", url=site.section_url(rel, section.anchor, meta),
            section=f"{label_file}#{heading_path}",
        ))
    return drafts


def _join(page: str, target: str) -> str:
    from urllib.parse import urljoin

    return urljoin(page, target)


def section_id(label_file: str, anchor: str) -> str:
    """``docs:<file>#<anchor>``, without spaces, at most 200 characters."""
    key = f"docs:{label_file}#{anchor}".replace(" ", "%20")
    if len(key) <= 200:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return f"{key[:186]}~{digest}"
