from __future__ import annotations

import datetime as dt

from pydantic import Field

from shared.schemas import OutModel, ShortText, StrictModel, ThemeKey, not_null


class ThemeCreate(StrictModel):
    key: ThemeKey
    label_nl: ShortText
    label_en: ShortText

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"key": "sociale-veiligheid", "label_nl": "Sociale veiligheid", "label_en": "Social safety"}
            ]
        }
    }


class ThemeUpdate(StrictModel):
    label_nl: ShortText = not_null()
    label_en: ShortText = not_null()

    model_config = {"json_schema_extra": {"examples": [{"label_en": "Social safety"}]}}


class ThemeOut(OutModel):
    key: str = Field(examples=["sociale-veiligheid"])
    label_nl: str
    label_en: str
    created_at: dt.datetime
    updated_at: dt.datetime
