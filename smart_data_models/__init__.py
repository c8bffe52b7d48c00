"""Validation of entities against their Smart Data Model (OASC MIM2); to be built."""
