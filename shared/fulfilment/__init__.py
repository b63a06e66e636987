"""Fulfilment records: the promiser's claim that a commitment (or one period of a recurring one) was kept,
with its evidence, and the judgement of the party it was made to."""
