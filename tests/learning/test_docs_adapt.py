"""The encoder adapted to a docs folder at import: a model version like any the
learning loop promotes (weights beside the store, every form re-embedded, the
bot answering with it), learned from nothing but the docs' own text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bot.cli.kb import import_knowledge
from bot.core import Core
from knowledge.docs.pseudo import pseudo_queries
from knowledge.embedder import CachedEmbedder, model_path
from knowledge.entries import LIVE, Entry
from learning.docs import DocsAdaptConfig, tune_to_docs
from learning.models import TunedEmbedder
from learning.tuning import TopLayers
from storage.models import LearningRows
from tests.learning.conftest import core_with_learner

SITE = Path(__file__).resolve().parents[1] / "knowledge" / "docs" / "site" / "docs"


def sibling_sections() -> list[Entry]:
    texts = {
        "Backups > Nightly": "Run the exporter every night with cron. The exporter writes a manifest and the "
                             "originals into the target folder.",
        "Backups > Restoring": "Stop the containers, then run the importer on the export folder. The importer "
                               "reads the manifest and puts every document back.",
        "Setup > Ports": "The web server listens on port 8000. Change the published port in the compose file "
                         "to move it.",
        "Setup > Users": "Set USERMAP_UID and USERMAP_GID so files belong to your user. The container starts "
                         "as root and drops to that user.",
    }
    return [Entry(id=f"docs:{n}", space="default", version=1, status=LIVE, questions=(path,), answer=answer,
                  section=f"docs/x.md#{path}") for n, (path, answer) in enumerate(texts.items())]


def test_tuning_on_the_docs_pulls_each_sections_texts_together_and_the_same_rows_give_the_same_model() -> None:
    rows = pseudo_queries(sibling_sections())
    model = TopLayers(model_path(), max_tokens=32)
    texts, labels = [t for t, _ in rows], [e for _, e in rows]
    states = model.lower(texts)

    def separation(weights: dict[str, torch.Tensor] | None) -> float:
        v = model.encode_states(states, weights)
        same = np.array([[a == b for b in labels] for a in labels])
        return float((v @ v.T)[same & ~np.eye(len(labels), dtype=bool)].mean() - (v @ v.T)[~same].mean())

    config = DocsAdaptConfig(steps=12, batch=4, lr=1e-4)
    tuned = tune_to_docs(rows, None, config, model)
    assert separation(tuned) > separation(None) + 0.02
    again = tune_to_docs(rows, None, config, model)
    assert all(torch.equal(tuned[k], again[k]) for k in tuned)


async def forms(core: Core) -> tuple[list[str], np.ndarray]:
    rows = await LearningRows(core.db).all_forms()
    _, vectors = await LearningRows(core.db).form_vectors()
    return [r[3] for r in rows], vectors


async def test_importing_docs_swaps_in_a_model_adapted_to_them_and_an_unchanged_reimport_keeps_it(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    import shutil

    docs = tmp_path / "docs"
    shutil.copytree(SITE, docs)
    core = await core_with_learner(embedder, str(tmp_path / "store.db"), learning={"docs_steps": 6})
    site = {"base_url": "https://t.example.org/"}
    try:
        # the web console's upload, say: it holds the bot while it imports, so it never adapts
        await import_knowledge(core, docs, space=None, quiet=True, docs=site)
        assert await LearningRows(core.db).models() == []
        page = docs / "index.md"
        page.write_text(page.read_text(encoding="utf-8") + "\nTidepool syncs your tide tables.\n", encoding="utf-8")
        await import_knowledge(core, docs, space=None, quiet=True, docs=site, adapt=True)
        history = await LearningRows(core.db).models()
        assert [(m.version, m.status, m.body["kind"]) for m in history] == [(1, "promoted", "docs")]
        assert history[0].body["sections"] == 8 and history[0].body["seconds"] >= 0
        assert await LearningRows(core.db).current_model() == 1 and core.learner.files.path(1).exists()
        assert core.embedder.name == "all-MiniLM-L6-v2+v1"
        # every form, the demo's question forms and the docs' passages alike, carries the adapted vector
        texts, vectors = await forms(core)
        tuned = TunedEmbedder(core.learner.files.load(1), 1)
        assert np.allclose(vectors, tuned.encode(texts), atol=1e-5)
        assert not np.allclose(vectors, embedder.encode(texts), atol=1e-3)
        # the sensitive detector's threshold is a cosine of the bundled model: it keeps that model
        assert core.services.sensitive is not None and core.services.sensitive.model == "all-MiniLM-L6-v2"
        await import_knowledge(core, docs, space=None, quiet=True, docs=site, adapt=True)
        assert len(await LearningRows(core.db).models()) == 1
    finally:
        await core.close()
    # as replay and the platforms open it: the adapted model answers, the bundled one judges sensitivity
    reopened = await Core.open(core.settings)
    try:
        assert reopened.embedder.name == "all-MiniLM-L6-v2+v1"
        assert reopened.services.sensitive is not None and reopened.services.sensitive.model == "all-MiniLM-L6-v2"
    finally:
        await reopened.close()


async def test_no_adaptation_when_it_is_switched_off(embedder: CachedEmbedder, tmp_path: Path) -> None:
    core = await core_with_learner(embedder, str(tmp_path / "store.db"), learning={"docs_steps": 0})
    try:
        await import_knowledge(core, SITE, space=None, quiet=True, docs={"base_url": "https://t.example.org/"},
                               adapt=True)
        assert await LearningRows(core.db).models() == []
        assert core.embedder.name == "all-MiniLM-L6-v2"
    finally:
        await core.close()
