"""The abstract interpreter: one function's graph, walked with abstract values, emits IR.

`values` is the open value domain (recognisers add their own classes),
`state` what holds at one point of the function (variables, unsaved row
changes, open transactions, path states, recognisers' facets), `paths` the
path states (uncommitted work, held locks, the route a path is leaving on),
`interpreter` the transfer functions over the graph and `expressions` the
evaluation of one expression. `context.Context` is what recognisers see.
"""
