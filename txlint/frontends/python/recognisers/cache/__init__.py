"""Cache clients and distributed locks: which objects are clients (`clients`), what their commands do
(`commands`), how a command becomes a `CacheOp` (`emitter`), the recogniser itself (`recogniser`)."""

from txlint.frontends.python.recognisers.cache.recogniser import CacheRecogniser

__all__ = ["CacheRecogniser"]
