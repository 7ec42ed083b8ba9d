"""Importing a docs folder into the live store: one entry per section, cited
by the link the site builds, searchable by its passages, re-imported by
difference, and never in conflict with itself."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.docs import read_docs
from knowledge.docs.passages import LIMIT, split
from knowledge.embedder import CachedEmbedder
from knowledge.entries import PASSAGE
from knowledge.files import dump, parse_jsonl
from knowledge.importer import import_drafts
from storage.database import Database

SITE = Path(__file__).parent / "site"
BASE = "https://tidepool.example.org/"
AT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def kb(embedder: CachedEmbedder) -> AsyncIterator[KnowledgeBase]:
    db = Database(":memory:")
    await db.open()
    store = KnowledgeBase(db, embedder)
    await store.open()
    yield store
    await db.close()


def docs_copy(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    shutil.copytree(SITE, target)
    return target / "docs"


async def import_folder(kb: KnowledgeBase, folder: Path):  # type: ignore[no-untyped-def]
    parsed, source = read_docs(folder, base_url=BASE)
    return await import_drafts(kb, parsed.drafts, author="op", at=AT, replaces=source.covers)


def test_every_section_names_its_file_heading_path_and_link() -> None:
    parsed, source = read_docs(SITE / "docs", base_url=BASE)
    by_section = {d.section: d for d in parsed.drafts}
    lock = by_section["docs/troubleshooting.md#Troubleshooting > Sync stops with E_LOCK_TIMEOUT"]
    assert lock.url == "https://tidepool.example.org/troubleshooting/#sync"
    assert lock.id == "docs:docs/troubleshooting.md#sync"
    assert "[the agent settings](https://tidepool.example.org/guide/install/#agent-settings)" in lock.answer
    assert "![The lock dialog](https://tidepool.example.org/img/lock.png)" in lock.answer
    assert "Note (Two agents):\nStop the other agent" in lock.answer and "!!!" not in lock.answer
    assert by_section["docs/index.md#Tidepool documentation"].url == "https://tidepool.example.org/#tidepool-documentation"
    assert "docs/troubleshooting.md#Troubleshooting > Uploads are *slow*" in by_section
    assert source.site == "mkdocs" and source.prefix == "docs/"


def test_root_names_files_relative_to_another_folder() -> None:
    parsed, _ = read_docs(SITE / "docs", base_url=BASE, root=SITE / "docs")
    assert "troubleshooting.md#Troubleshooting > Why does the tray icon stay grey?" in {
        d.section for d in parsed.drafts}


def test_headings_that_are_links_never_collapse_into_one_entry(tmp_path: Path) -> None:
    page = "# API\n\n" + "".join(f"## [GET /v1/items/{{id}}](#item-{n})\n\nReturns item {n}.\n\n" for n in range(15))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "api.md").write_text(page, encoding="utf-8")
    parsed, _ = read_docs(tmp_path / "docs", base_url=BASE)
    assert len(parsed.drafts) == 15 and len({d.id for d in parsed.drafts}) == 15
    assert parsed.drafts[1].url == "https://tidepool.example.org/api/#get-v1itemsid_1"


def test_long_sections_split_into_passages_that_keep_code_whole() -> None:
    parsed, _ = read_docs(SITE / "docs", base_url=BASE)
    settings = next(d for d in parsed.drafts if d.section and d.section.endswith("Agent settings"))
    passages = split(settings.answer * 3)
    assert len(passages) > 1 and all(len(p) <= LIMIT for p in passages)
    docker = next(d for d in parsed.drafts if d.section and d.section.endswith("> Docker"))
    code = [p for p in split(docker.answer) if "```yaml" in p]
    assert code and code[0].count("```") == 2  # the fence opens and closes in one passage


async def test_import_makes_passages_searchable_with_their_heading_path(kb: KnowledgeBase) -> None:
    report = await import_folder(kb, SITE / "docs")
    assert len(report.created) == 8 and not report.conflicts
    entry = await kb.get("docs:docs/guide/install.md#agent-settings")
    assert entry is not None and entry.kind == "docs"
    passages = await kb.store.live_forms(entry.id, PASSAGE)
    assert len(passages) >= 2
    assert all(text.startswith("Installing Tidepool > Agent settings\n") for _, text in passages)


async def test_reimport_changes_only_what_changed_and_retires_what_is_gone(kb: KnowledgeBase,
                                                                           tmp_path: Path) -> None:
    folder = docs_copy(tmp_path)
    await import_folder(kb, folder)
    same = await import_folder(kb, folder)
    assert same.created == [] and same.versioned == [] and len(same.unchanged) == 8
    page = folder / "troubleshooting.md"
    text = page.read_text(encoding="utf-8").replace("1 MB/s", "2 MB/s")
    page.write_text(text.split("## _Why_")[0] + "## [Uploads]" + text.split("## [Uploads]")[1], encoding="utf-8")
    again = await import_folder(kb, folder)
    assert len(again.versioned) == 1 and "2 MB/s" in (await kb.get(again.versioned[0])).answer  # type: ignore[union-attr]
    assert again.retired == ["docs:docs/troubleshooting.md#why-does-the-tray-icon-stay-grey"]
    assert len(again.unchanged) == 6
    assert (await kb.get(again.retired[0])).status == "retired"  # type: ignore[union-attr]


async def test_export_names_the_section_and_round_trips(kb: KnowledgeBase) -> None:
    await import_folder(kb, SITE / "docs")
    exported = dump(await kb.store.entries(), "jsonl")
    assert '"section": "docs/troubleshooting.md#Troubleshooting > Sync stops with E_LOCK_TIMEOUT"' in exported
    again = await import_drafts(kb, parse_jsonl(exported).drafts, author="op", at=AT)
    assert again.created == [] and again.versioned == []


async def test_a_parent_section_and_its_subsections_are_never_conflicts(kb: KnowledgeBase, tmp_path: Path) -> None:
    page = ("# Migration\n\n## Secret key\n\nThe secret key is now required.\n\n### Action required\n\n"
            "Set PAPERLESS_SECRET_KEY.\n\n## Database\n\nThe engine is now explicit.\n\n### Action required\n\n"
            "Set PAPERLESS_DBENGINE.\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "migration.md").write_text(page, encoding="utf-8")
    parsed, source = read_docs(tmp_path / "docs", base_url=BASE)
    # A threshold low enough that any two of these headings would count as "asked the same way".
    report = await import_drafts(kb, parsed.drafts, author="op", at=AT, replaces=source.covers,
                                 conflict_threshold=0.3, conflict_answer_gap=0.99)
    assert len(report.created) == 4 and report.conflicts == []
    assert await kb.store.open_conflicts() == []


TRAY = "docs:docs/troubleshooting.md#why-does-the-tray-icon-stay-grey"
UPLOADS = "docs:docs/troubleshooting.md#uploads-are-slow"


async def test_a_staff_correction_of_a_section_survives_reimporting_the_docs(kb: KnowledgeBase,
                                                                            tmp_path: Path) -> None:
    from learning.teach import learn

    folder = docs_copy(tmp_path)
    await import_folder(kb, folder)
    section = await kb.get(UPLOADS)
    assert section is not None
    await learn(kb, space="default", question="why are my uploads so slow?", question_vector=None,
                answer="Since 2.4 the limit is TIDEPOOL_UPLOAD_LIMIT_KBPS; the old name is ignored.",
                staff="mod-ana", case="c-1", at=AT, correcting=section)

    same_docs = await import_folder(kb, folder)
    assert same_docs.kept == [UPLOADS] and same_docs.outdated == [] and same_docs.versioned == []
    corrected = await kb.get(UPLOADS)
    assert corrected is not None and "TIDEPOOL_UPLOAD_LIMIT_KBPS" in corrected.answer
    assert "why are my uploads so slow?" in corrected.questions

    page = folder / "troubleshooting.md"
    page.write_text(page.read_text(encoding="utf-8").replace("1 MB/s", "4 MB/s"), encoding="utf-8")
    changed_docs = await import_folder(kb, folder)
    assert changed_docs.kept == [UPLOADS] and changed_docs.outdated == [UPLOADS]
    assert "TIDEPOOL_UPLOAD_LIMIT_KBPS" in (await kb.get(UPLOADS)).answer  # type: ignore[union-attr]

    page.write_text(page.read_text(encoding="utf-8").split("## [Uploads]")[0], encoding="utf-8")
    gone = await import_folder(kb, folder)
    assert UPLOADS not in gone.retired and gone.outdated == [UPLOADS]
    assert (await kb.get(UPLOADS)).status == "live"  # type: ignore[union-attr]


async def test_a_section_staff_retired_stays_retired_and_one_the_docs_dropped_comes_back(
        kb: KnowledgeBase, tmp_path: Path) -> None:
    folder = docs_copy(tmp_path)
    await import_folder(kb, folder)
    await kb.retire(await kb.get(TRAY), by="mod-ana", at=AT)  # type: ignore[arg-type]
    again = await import_folder(kb, folder)
    assert again.kept == [TRAY] and (await kb.get(TRAY)).status == "retired"  # type: ignore[union-attr]

    page = folder / "troubleshooting.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("## [Uploads]", "## Dropped\n\n## [Uploads]").split("## Dropped")[0],
                    encoding="utf-8")
    assert (await import_folder(kb, folder)).retired == [UPLOADS]
    page.write_text(text, encoding="utf-8")
    back = await import_folder(kb, folder)
    assert back.versioned == [UPLOADS] and (await kb.get(UPLOADS)).status == "live"  # type: ignore[union-attr]
