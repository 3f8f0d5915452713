"""The run machinery: shards of files driven through the phases, worker processes, the result cache.

It turns files into findings with the front-ends and the rules; it prints
nothing (the CLI does).
"""
