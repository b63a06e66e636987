from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, TimestampMixin


class Theme(TimestampMixin, Base):
    """Controlled list of themes, shared by commitments, recommendations and client signals."""

    __tablename__ = "themes"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    label_nl: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
