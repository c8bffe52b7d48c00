"""Validation of entities against their Smart Data Model (OASC MIM2): where schemas come from (`source`),
the reduction of entities to the key-values form the schemas describe (`reduce`), compiled models
(`models`), and the policy of each tenant and type (`policy`)."""
