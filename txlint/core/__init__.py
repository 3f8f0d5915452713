"""The IR and the rule API: what front-ends produce and what rules read.

Rules import from this package only (a test checks it): the operations of
`ir`, the questions of `queries`, the schema `index`, the `rule` base class
and the run's `config`. Nothing here knows a library, a parser or a file.
"""
