from __future__ import annotations

import datetime as dt

from pydantic import Field

from shared.schemas import OutModel, ShortText, StrictModel, ThemeKey


class ThemeCreate(StrictModel):
    key: ThemeKey
    label_nl: ShortText
    label_en: ShortText

    model_config = {"json_schema_extra": {"examples": [{"key": "sociale-veiligheid", "label_nl": "Sociale veiligheid", "label_en": "Social safety"}]}}


class ThemeUpdate(StrictModel):
    label_nl: ShortText | None = None
    label_en: ShortText | None = None


class ThemeOut(OutModel):
    key: str = Field(examples=["sociale-veiligheid"])
    label_nl: str
    label_en: str
    created_at: dt.datetime
    updated_at: dt.datetime
