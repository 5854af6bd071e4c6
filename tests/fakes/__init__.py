"""Test helpers around the fake provider server (which lives in ``llmledger.fakes``)."""
