"""The ceiling: a bare FastAPI app serving the same 50 commitments from memory, through the same
response model (so both sides pay the same JSON serialisation; the difference is the database,
sessions, pagination and middleware)."""

from __future__ import annotations

import json
import os

from fastapi import FastAPI

from shared.commitments.schemas import CommitmentOut
from shared.pagination import Page

with open(os.environ["BENCH_ITEMS_FILE"], encoding="utf-8") as fh:
    PAGE = json.load(fh)
ITEMS = [CommitmentOut.model_validate(item) for item in PAGE["items"]]

app = FastAPI()


@app.get("/v1/commitments", response_model=Page[CommitmentOut])
async def commitments() -> dict:
    return {"items": ITEMS, "next_cursor": PAGE["next_cursor"]}
