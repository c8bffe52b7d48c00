"""The `scifi conformance` checks of a broker against MIM1 and MIM2; to be built."""
