"""The control-flow skeleton of one function, and the generic analyses over it.

`builder.build(func)` turns a function body into a `cfg.Graph` of basic
blocks; `solver.solve` runs any forward analysis over it to a fixpoint;
`dominance.control_dependences` tells which branches decide whether a block
runs; `reaching.ReachingBindings` is one analysis over the graph (which
bindings of a name each load may see). The abstract interpreter
(`txlint.frontends.python.interpret`) is another.
"""
