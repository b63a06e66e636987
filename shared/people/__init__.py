"""The people and systems behind records: who created and last changed a record (`created_by` / `updated_by`),
and the named person responsible for a commitment, action or milestone (`owner_person`)."""
