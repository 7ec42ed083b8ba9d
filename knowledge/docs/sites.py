"""How a docs site turns a page path and a heading into the link a member opens.

Three conventions, read from the generators themselves:

- ``mkdocs``: Python-Markdown's ``toc`` slugify (NFKD to ASCII, drop what is
  not a word character, space or hyphen, lower case, runs of spaces and
  hyphens become one hyphen); a repeated anchor gets ``_1``, ``_2``. Pages
  are ``a/b/`` for ``a/b.md`` (``use_directory_urls``, the default) and
  ``a/`` for ``a/index.md`` or ``a/README.md``.
- ``docusaurus``: github-slugger (lower case, punctuation removed, each space
  a hyphen; a repeat gets ``-1``, ``-2``). Pages are ``a/b`` for
  ``a/b.md(x)``, number prefixes (``01-intro``, ``2_setup``) dropped, an
  index or README page is its folder, and a front-matter ``slug`` or ``id``
  wins. Files whose name starts with ``_`` are partials, not pages.
- ``github``: github-slugger anchors on the file itself (``docs/a.md``).

An explicit ``{#id}`` (or ``<h3 id="…">``) anchor always wins.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

SITES = ("mkdocs", "docusaurus", "github")

_MKDOCS_DROP = re.compile(r"[^\w\s-]")
_MKDOCS_RUNS = re.compile(r"[-\s]+")
_NUMBER_PREFIX = re.compile(r"^\d+[-_.]")


def slug_mkdocs(text: str) -> str:
    """``markdown.extensions.toc.slugify`` (MkDocs' default)."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = _MKDOCS_DROP.sub("", value).strip().lower()
    return _MKDOCS_RUNS.sub("-", value)


def slug_github(text: str) -> str:
    """github-slugger (GitHub, Docusaurus): keep letters, digits, marks, ``-``
    and ``_``; drop other punctuation and symbols; every space a hyphen."""
    kept = []
    for ch in text.lower():
        if ch in "-_ " or ch.isalnum() or unicodedata.category(ch) in ("Mn", "Mc", "Nd", "Nl", "No"):
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


@dataclass(slots=True)
class Anchors:
    """A page's anchors, made unique the way its site makes them unique."""

    site: str
    seen: dict[str, int] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def make(self, text: str, explicit: str | None = None) -> str:
        if explicit:
            self.used.add(explicit)
            return explicit
        base = slug_mkdocs(text) if self.site == "mkdocs" else slug_github(text)
        if self.site == "mkdocs":
            anchor = base or "_"
            while anchor in self.used or not anchor:
                match = re.match(r"^(.*)_([0-9]+)$", anchor)
                anchor = f"{match.group(1)}_{int(match.group(2)) + 1}" if match else f"{anchor}_1"
        else:
            count = self.seen.get(base, 0)
            anchor = base if count == 0 else f"{base}-{count}"
            while anchor in self.used:
                count += 1
                anchor = f"{base}-{count}"
            self.seen[base] = count + 1
        self.used.add(anchor)
        return anchor


@dataclass(frozen=True, slots=True)
class Site:
    """Where the docs live on the web, and how that site builds its links."""

    kind: str
    base_url: str | None
    directory_urls: bool = True

    def page_path(self, rel: str, meta: Mapping[str, Any] | None = None) -> str:
        """The page's path under ``base_url`` for the file ``rel`` (posix,
        relative to the imported folder)."""
        meta = meta or {}
        stem, _ = posixpath.splitext(rel)
        folder, name = posixpath.split(stem)
        if self.kind == "github":
            return rel
        if self.kind == "docusaurus":
            parts = [_NUMBER_PREFIX.sub("", p) for p in folder.split("/") if p]
            slug = meta.get("slug")
            if isinstance(slug, str) and slug.strip():
                slug = slug.strip()
                return slug.lstrip("/") if slug.startswith("/") else "/".join([*parts, slug])
            doc_id = meta.get("id")
            name = str(doc_id) if isinstance(doc_id, str | int) and str(doc_id).strip() else name
            name = _NUMBER_PREFIX.sub("", name)
            if name.lower() in ("index", "readme") or (parts and name == parts[-1] and doc_id is None):
                return "/".join(parts)
            return "/".join([*parts, name])
        # mkdocs
        if name.lower() in ("index", "readme"):
            return f"{folder}/" if folder else ""
        if not self.directory_urls:
            return f"{stem}.html"
        return f"{stem}/"

    def page_url(self, rel: str, meta: Mapping[str, Any] | None = None) -> str | None:
        if self.base_url is None:
            return None
        return urljoin(self.base_url, quote(self.page_path(rel, meta), safe="/-_.~"))

    def section_url(self, rel: str, anchor: str, meta: Mapping[str, Any] | None = None) -> str | None:
        page = self.page_url(rel, meta)
        if page is None:
            return None
        return f"{page}#{anchor}" if anchor else page

    def asset_url(self, rel: str) -> str | None:
        """A non-page file (an image, a download) at ``rel`` under the docs folder."""
        if self.base_url is None:
            return None
        return urljoin(self.base_url, quote(rel, safe="/-_.~"))

    def site_url(self, path: str) -> str | None:
        """A site-absolute path (``/docs/x``) on the docs' host."""
        if self.base_url is None:
            return None
        return urljoin(self.base_url, path)


def normalise_base_url(base_url: str | None) -> str | None:
    """``https://docs.example.org`` → ``https://docs.example.org/``; ``ValueError`` if it is no web address."""
    if base_url is None or not base_url.strip():
        return None
    url = base_url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--base-url must be a web address like https://docs.example.org/, not {base_url!r}")
    return url if url.endswith("/") else url + "/"


def detect_site(folder: Path, files: list[tuple[str, str]], base_url: str | None) -> tuple[str, dict[str, Any]]:
    """Which generator built these docs, and its settings that change links.

    The base URL's host (github.com, gitlab.com) first, then a generator's
    config file in the folder or up to three folders above it, then the
    markup the pages use (``.mdx`` files or ``:::`` admonitions: Docusaurus).
    Otherwise MkDocs, the most common generator for a plain Markdown folder;
    a folder rendered by GitHub itself is recognised by its base URL.
    """
    host = urlsplit(base_url).netloc.lower() if base_url else ""
    if host in ("github.com", "gitlab.com", "codeberg.org") or host.endswith(".github.com"):
        return "github", {}
    here = folder.resolve()
    for candidate in [here, *list(here.parents)[:3]]:
        for name in ("mkdocs.yml", "mkdocs.yaml"):
            config = candidate / name
            if config.is_file():
                text = config.read_text(encoding="utf-8", errors="replace")
                directory = not re.search(r"^use_directory_urls:\s*false", text, re.M | re.I)
                return "mkdocs", {"directory_urls": directory}
        for name in ("docusaurus.config.js", "docusaurus.config.ts", "docusaurus.config.mjs"):
            if (candidate / name).is_file():
                return "docusaurus", {}
    mdx = any(rel.endswith(".mdx") for rel, _ in files)
    colons = sum(len(re.findall(r"^:::\s*\w", text, re.M)) for _, text in files)
    bangs = sum(len(re.findall(r"^\s*(?:!!!|\?\?\?\+?)\s+\w", text, re.M)) for _, text in files)
    attrs = sum(len(re.findall(r"^#{1,6} .*\{\s*#[\w-]+", text, re.M)) for _, text in files)
    if mdx or colons > bangs + attrs:
        return "docusaurus", {}
    return "mkdocs", {}
