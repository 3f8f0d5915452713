"""Statement logs (`txlint trace`): PostgreSQL's and MySQL's logs of every statement, whatever
language sent it, judged by the same trace analyser and rules as the runtime hook."""
