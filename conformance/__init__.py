"""`scifi conformance`: a black-box check of any NGSI-LD broker over HTTP, of its API against ETSI GS CIM 009
v1.8.1 (OASC MIM1, the checks of `mim1/`, one module per area, registered in `registry`) and of its data
against the Smart Data Models (MIM2, `mim2`). `runner` runs the checks with a `trial` each (the requests of
`client`, kept as evidence; notifications come to the `receiver`); `report`, `junit` and `html` write the
reports; `cli` is the command line."""
