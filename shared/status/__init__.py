"""The status engine: explainable status of every commitment, milestone and recommendation.

inputs.py      plain dataclasses: everything a rule may look at
rules.py       one small pure function per rule (TK link, deadline, milestone, action, signals, override)
combine.py     evaluate(inputs, as_of): precedence and worst severity -> status, schedule, reasons
rollup.py      recommendation roll-up from its commitments and actions
loaders*.py    batch loading of the inputs (a fixed number of queries per batch, never per row)
service.py     writes results, milestone statuses, history (only on change), overrides
runner.py      full recalculation in batches (nightly job, `nakoming recalc --all`)
"""
