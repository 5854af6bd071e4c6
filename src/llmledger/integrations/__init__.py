"""Autolog integrations: one module per client library (see each module's ``autolog``)."""
