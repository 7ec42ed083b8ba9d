"""Cases and journeys on each store: kept whole, found by what the core asks."""

from __future__ import annotations

import numpy as np

from storage.cases import CaseRow, CaseRows
from storage.journeys import JourneyRows
from storage.sql import Sql
from tests.storage.conftest import at


def case(key: str, *, user: str = "u1", status: str = "open", opened: float = 0, space: str = "s") -> CaseRow:
    return CaseRow(space=space, key=key, user=user, status=status, opened_at=at(opened).isoformat(),
                   updated_at=at(opened).isoformat(), state={"key": key, "status": status, "said": "naïve"})


async def test_a_case_is_kept_whole_and_its_vector_stays_unless_replaced(db: Sql) -> None:
    rows = CaseRows(db)
    vector = np.arange(4, dtype=np.float32)
    await rows.save(case("c1"), vector)
    await rows.save(case("c1", status="routed"))  # no vector: the stored one stays
    assert await rows.get("s", "c1") == {"key": "c1", "status": "routed", "said": "naïve"}
    stored = await rows.vector("s", "c1")
    assert stored is not None and stored.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert await rows.get("other", "c1") is None and await rows.vector("s", "c9") is None


async def test_cases_are_found_by_status_asker_and_waiting_vector(db: Sql) -> None:
    rows = CaseRows(db)
    await rows.save(case("c1", status="routed", opened=1), np.ones(2, dtype=np.float32))
    await rows.save(case("c2", status="answered", opened=2))
    await rows.save(case("c3", status="routed", opened=3, user="u2"), np.zeros(2, dtype=np.float32))
    await rows.save(case("c4", status="routed", opened=4, space="t"))
    assert [c["key"] for c in await rows.with_status("s", ["routed", "answered"])] == ["c1", "c2", "c3"]
    assert [c["key"] for c in await rows.with_status(None, ["routed"])] == ["c1", "c3", "c4"]
    assert [c["key"] for c in await rows.of_user("s", "u1", since=at(0).isoformat())] == ["c2", "c1"]
    assert [c["key"] for c in await rows.of_user("s", "u1", since=at(1.5).isoformat())] == ["c2"]
    waiting = await rows.waiting_vectors("s", since=at(0).isoformat(), excluding="c1")
    assert [(key, v.tolist()) for key, v in waiting] == [("c3", [0.0, 0.0])]
    assert sorted(await rows.vectors("s", ["c1", "c2", "c3"])) == ["c1", "c3"]


async def test_a_platform_reference_leads_to_its_case(db: Sql) -> None:
    rows = CaseRows(db)
    await rows.link("s", "card-1", "c1", "card")
    await rows.link("s", "card-1", "c2", "dm")  # the same reference again: the newest wins
    assert await rows.by_ref("s", "card-1") == ("c2", "dm")
    assert await rows.by_ref("t", "card-1") is None


async def test_a_journey_is_kept_per_space_and_person(db: Sql) -> None:
    rows = JourneyRows(db)
    assert await rows.get("s", "u1") is None
    await rows.save("s", "u1", {"facts": ["uses Docker"]})
    await rows.save("s", "u1", {"facts": ["uses Docker", "on ARM"]})
    await rows.save("t", "u1", {"facts": []})
    assert await rows.get("s", "u1") == {"facts": ["uses Docker", "on ARM"]}
    assert await rows.get("t", "u1") == {"facts": []}
