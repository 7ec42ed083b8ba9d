"""What the learning loop needs stored: ``storage.contract``'s model and lesson
repositories as one (DESIGN.md: the layers above type against the storage
contract; ``storage.models.LearningRows`` implements it on SQLite and
PostgreSQL). Callers own the transaction: ``transaction()`` opens the store's own.
"""

from __future__ import annotations

from typing import Protocol

from storage.contract import LessonRepository, ModelRepository
from storage.models import ModelRecord, Outcome, Pair


class LearningRepository(ModelRepository, LessonRepository, Protocol):
    """Model versions, staged vectors, calibrators, observations, lessons and
    each entry's record (``storage.models.LearningRows``)."""


__all__ = ["LearningRepository", "ModelRecord", "Outcome", "Pair"]
