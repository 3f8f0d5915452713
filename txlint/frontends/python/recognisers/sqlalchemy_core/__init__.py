"""SQLAlchemy Core: engines, connections and transactions, `Table` objects and the statements built
from them. The qualified names it knows (`names`), the values it tracks (`values`), where engines and
tables come from (`evidence`), statements and what running one does (`statements`), the recogniser
itself (`recogniser`)."""

from txlint.frontends.python.recognisers.sqlalchemy_core.recogniser import SqlAlchemyCoreRecogniser

__all__ = ["SqlAlchemyCoreRecogniser"]
