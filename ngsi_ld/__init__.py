"""The NGSI-LD standard itself, pure and I/O-free: @context term maps, entities, representations, errors."""
