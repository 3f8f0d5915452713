"""Recognisers: the library knowledge of the Python front-end, one module (or package) per library.

Each turns its library's calls into IR through `interpret.context.Context`;
`base.Recogniser` is the interface, `sql_strings` what every recogniser that
meets SQL shares. They are asked in the order of `RECOGNISERS`.
"""

from __future__ import annotations

from txlint.frontends.python.recognisers.acts import Acts
from txlint.frontends.python.recognisers.base import Recogniser
from txlint.frontends.python.recognisers.cache import CacheRecogniser
from txlint.frontends.python.recognisers.configured_locks import ConfiguredLocks
from txlint.frontends.python.recognisers.dbapi_drivers import DbApiRecogniser
from txlint.frontends.python.recognisers.dbapi_records import RecordModels
from txlint.frontends.python.recognisers.django_orm import DjangoRecogniser
from txlint.frontends.python.recognisers.django_views import DjangoViews
from txlint.frontends.python.recognisers.project_calls import ProjectCalls
from txlint.frontends.python.recognisers.sqlalchemy_core import SqlAlchemyCoreRecogniser
from txlint.frontends.python.recognisers.sqlalchemy_orm import SqlAlchemyRecogniser

# The project's own lock functions come first: a helper the user names is theirs, whatever library it
# wraps; then the project's functions whose summaries say what they do (the callee is the project's).
# SQLAlchemy Core comes before the ORM: it claims the engines, connections and `Table` statements,
# and leaves sessions and models to the ORM. An object built from a fetched record is that record,
# unless a library made it (a model class instantiated is a new row).
RECOGNISERS: tuple[Recogniser, ...] = (
    ConfiguredLocks(), ProjectCalls(), DjangoRecogniser(), DjangoViews(), SqlAlchemyCoreRecogniser(), SqlAlchemyRecogniser(), DbApiRecogniser(), RecordModels(), CacheRecogniser(),
    Acts(),
)  # fmt: skip
