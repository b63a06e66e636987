"""Release a new seed dataset version: `python -m shared.seed.release OLD_SEED.yaml`.

OLD_SEED.yaml is the previously released seed.yaml (`git show <commit>:shared/seed/data/seed.yaml`).
Every value a record held there and holds no longer is added to superseded.yaml, so `load_dataset` corrects
databases that loaded the old version. Both versions' digests are recorded there too: the tests check that
the current dataset matches its version's digest, so a changed dataset cannot ship without this step.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from shared.seed.loader import (
    SUPERSEDED_FILE,
    SeedDataset,
    dataset_digest,
    plain,
    read_dataset,
    read_superseded,
    seed_rows,
)

HEADER = (
    "# Written by `python -m shared.seed.release OLD_SEED.yaml` (shared/seed/release.py); not by hand.\n"
    "# digests: each released dataset version's digest. values: per section, record and column, the\n"
    "# values earlier versions released that a later version corrected; load_dataset replaces them\n"
    "# where a database still holds them.\n"
)


def supersede(old: SeedDataset, new: SeedDataset, superseded: dict[str, Any]) -> dict[str, Any]:
    """`superseded` with the values `old` released that `new` changed, and both digests."""
    if new.version <= old.version:
        raise ValueError(f"the dataset changed: its version must go above {old.version}")
    digests = dict(superseded.get("digests") or {})
    for data in (old, new):
        if digests.get(data.version, dataset_digest(data)) != dataset_digest(data):
            raise ValueError(f"version {data.version} was released with other content: use a new version")
        digests[data.version] = dataset_digest(data)
    values: dict[str, Any] = superseded.get("values") or {}
    current = {(row.section, row.key): row.values for row in seed_rows(new)}
    for row in seed_rows(old):
        now = current.get((row.section, row.key))
        if now is None:
            continue  # a record the new version dropped stays in databases as it is
        for name, value in row.values.items():
            old_value, new_value = plain(value), plain(now[name])
            if old_value != new_value:
                kept = values.setdefault(row.section, {}).setdefault(row.key, {}).setdefault(name, [])
                if old_value not in kept:
                    kept.append(old_value)
    return {"digests": digests, "values": values}


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    old = SeedDataset.model_validate(yaml.safe_load(Path(argv[0]).read_text(encoding="utf-8")))
    result = supersede(old, read_dataset(), read_superseded())
    SUPERSEDED_FILE.write_text(
        HEADER + yaml.safe_dump(result, allow_unicode=True, sort_keys=True, width=110), encoding="utf-8"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
