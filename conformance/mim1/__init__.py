"""The MIM1 checks, one module per area; importing this package registers them all."""

from conformance.mim1 import (  # noqa: F401
    batch,
    context,
    discovery,
    entities,
    errors,
    optional,
    query,
    representations,
    subscriptions,
    tenancy,
)
