"""A stored routine's body as steps: PL/pgSQL, MySQL's SQL/PSM, or a list of plain statements.

A small recursive reader over the body's tokens. It knows the block
structure (`[DECLARE] BEGIN ... [EXCEPTION ...] END`, `IF/ELSIF/ELSE`,
`CASE/WHEN`, `LOOP`, `WHILE`, `REPEAT`, `FOR ... IN`), declarations,
assignments, exits (`RETURN`, `RAISE EXCEPTION`, `SIGNAL`, `LEAVE`), row-count
tests (`FOUND`, `ROW_COUNT`) and transaction control; every other statement
is SQL, handed to the statement reader with the routine's variables turned
into named placeholders (so `WHERE id = p_id` and `SET balance = v - p_amount`
say which variable they use). `SELECT ... INTO v` and `RETURNING ... INTO v`
name the variables a statement fills.

What the reader does not understand makes the whole body unreadable (None)
rather than half-read; a statement it cannot parse, dynamic SQL and calls of
other routines become `OpaqueStep`s. Exception handlers (`EXCEPTION WHEN`,
`DECLARE ... HANDLER`) are read past and dropped: they run only on an error.
Which name is a variable is `routine_variables`' business.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlglot import Token, TokenType

from txlint.sql.facts import SqlError, Statement
from txlint.sql.routine_facts import (
    Arm,
    AssignStep,
    BranchStep,
    ExitStep,
    LoopStep,
    OpaqueStep,
    Probe,
    SqlStep,
    Step,
    Test,
    TransactionStep,
    VariableRef,
)
from txlint.sql.routine_variables import Unreadable as _Unreadable
from txlint.sql.routine_variables import Variables, closing, word
from txlint.sql.tokens import Lines

SqlReader = Callable[[list[Token], list[Token]], Statement | SqlError]

_NOTHING_TO_ANALYSE = frozenset({
    "ASSERT", "NULL", "CLOSE", "DEALLOCATE", "UNLOCK", "SAVEPOINT", "RELEASE", "NOTIFY", "LISTEN", "UNLISTEN", "DO",
    "CREATE", "DROP", "ALTER", "TRUNCATE", "ANALYZE", "VACUUM", "COMMENT", "GRANT", "REVOKE", "REFRESH", "CLUSTER",
    "REINDEX", "DISCARD", "RESET", "SECURITY", "COPY", "EXPLAIN", "SHOW", "USE",
})  # fmt: skip
_OPAQUE = frozenset({"EXECUTE", "CALL", "OPEN", "FETCH", "MOVE", "PREPARE"})
_LOG_LEVELS = frozenset({"DEBUG", "LOG", "INFO", "NOTICE", "WARNING"})
_HANDLER_CONDITIONS = frozenset({"SQLEXCEPTION", "SQLWARNING", "NOT", "FOUND", "SQLSTATE", "VALUE"})
_SELECTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT"})
_ROW_COUNT_WORDS = frozenset({"FOUND", "ROW_COUNT"})


class BodyReader:
    """Reads one body; `read()` returns its steps, or None when it cannot read all of it."""

    def __init__(self, tokens: list[Token], grammar: str, params: Collection[str], read_sql: SqlReader, lines: Lines) -> None:
        self.tokens = tokens
        self.grammar = grammar
        self.variables = Variables(params)
        self.read_sql = read_sql
        self.lines = lines
        self.index = 0
        self.routine_labels: set[str] = set()

    def read(self) -> tuple[Step, ...] | None:
        if not self.tokens or self._runs_unknown_code():
            return None
        try:
            if self.grammar == "sql":
                steps = self._plain_statements()
            elif self.grammar == "plpgsql":
                steps = self._pg_block(outermost=True)
            else:
                steps = self._psm_block(outermost=True)
        except (_Unreadable, RecursionError, IndexError):
            return None
        if any(t.token_type != TokenType.SEMICOLON for t in self.tokens[self.index :]):
            return None
        return tuple(steps)

    def _runs_unknown_code(self) -> bool:
        """Dynamic SQL, a CALL or a cursor anywhere: the body is not analysed (see `OpaqueStep`), so
        it is not read either. A statement starts after `;` and after the words that open a block."""
        starts = {TokenType.SEMICOLON, TokenType.BEGIN, TokenType.THEN, TokenType.ELSE}
        for index, token in enumerate(self.tokens):
            keyword = word(token)
            if keyword in ("EXECUTE", "CALL") or (
                keyword in _OPAQUE and index and (self.tokens[index - 1].token_type in starts or word(self.tokens[index - 1]) in ("LOOP", "DO"))
            ):
                return True
        return False

    # ---- tokens

    def _word(self, ahead: int = 0) -> str:
        index = self.index + ahead
        return word(self.tokens[index]) if index < len(self.tokens) else ""

    def _take(self, word: str) -> Token:
        if self._word() != word:
            raise _Unreadable(word)
        self.index += 1
        return self.tokens[self.index - 1]

    def _skip_semicolon(self) -> None:
        if self.index < len(self.tokens) and self.tokens[self.index].token_type == TokenType.SEMICOLON:
            self.index += 1

    def _end_label(self) -> None:
        """`END [LOOP|IF|...] label;`: the optional label after the closing words."""
        if self.index < len(self.tokens) and self.tokens[self.index].token_type != TokenType.SEMICOLON:
            self.index += 1
        self._skip_semicolon()

    def _until_semicolon(self) -> list[Token]:
        start, depth = self.index, 0
        while self.index < len(self.tokens):
            kind = self.tokens[self.index].token_type
            if kind == TokenType.L_PAREN:
                depth += 1
            elif kind == TokenType.R_PAREN:
                depth -= 1
            elif kind == TokenType.SEMICOLON and depth <= 0:
                self.index += 1
                return self.tokens[start : self.index - 1]
            self.index += 1
        return self.tokens[start:]

    def _until_word(self, words: Collection[str]) -> list[Token]:
        """The tokens up to (not including) one of `words` outside parentheses and CASE expressions."""
        start, depth, cases = self.index, 0, 0
        while self.index < len(self.tokens):
            token = self.tokens[self.index]
            keyword = word(token)
            if token.token_type == TokenType.L_PAREN:
                depth += 1
            elif token.token_type == TokenType.R_PAREN:
                depth -= 1
            elif depth == 0 and cases == 0 and keyword in words:
                return self.tokens[start : self.index]
            elif token.token_type == TokenType.SEMICOLON and depth == 0:
                break
            elif keyword == "CASE":
                cases += 1
            elif keyword == "END" and cases:
                cases -= 1
            self.index += 1
        raise _Unreadable(f"no {'/'.join(words)}")

    def _lines(self, first: Token, last: Token) -> tuple[int, int]:
        return self.lines.line(first.start), self.lines.line(last.end)

    # ---- blocks

    def _plain_statements(self) -> list[Step]:
        steps: list[Step] = []
        while self.index < len(self.tokens):
            tokens = self._until_semicolon()
            if tokens:
                steps.extend(self._simple(tokens))
        return steps

    def _pg_label(self) -> str | None:
        tokens, index = self.tokens, self.index
        kinds = [t.token_type for t in tokens[index : index + 5]]
        if kinds[:2] == [TokenType.LT, TokenType.LT] and kinds[3:5] == [TokenType.GT, TokenType.GT]:
            self.index += 5
            return tokens[index + 2].text.lower()
        return None

    def _pg_block(self, outermost: bool = False) -> list[Step]:
        label = self._pg_label()
        if outermost and label:
            self.routine_labels.add(label)
        steps: list[Step] = []
        if self._word() == "DECLARE":
            self.index += 1
            steps.extend(self._pg_declarations())
        self._take("BEGIN")
        steps.extend(self._statements({"END", "EXCEPTION"}))
        if self._word() == "EXCEPTION":
            self.index += 1
            while self._word() == "WHEN":
                self._until_word({"THEN"})
                self.index += 1
                self._statements({"WHEN", "END"})  # a handler runs only on an error: dropped
        self._take("END")
        self._end_label()
        return steps

    def _pg_declarations(self) -> list[Step]:
        steps: list[Step] = []
        while self._word() not in ("BEGIN", ""):
            declaration = self._until_semicolon()
            if not declaration:
                continue
            name = declaration[0].text.lower()
            self.variables.add(name)
            for index, token in enumerate(declaration[1:], start=1):
                if word(token) == "DEFAULT" or token.token_type in (TokenType.COLON_EQ, TokenType.EQ):
                    steps.extend(self._assignment(VariableRef(name), declaration[index + 1 :], declaration))
                    break
        return steps

    def _psm_block(self, outermost: bool = False) -> list[Step]:
        tokens = self.tokens
        if self.index + 1 < len(tokens) and tokens[self.index + 1].token_type == TokenType.COLON:
            if outermost:
                self.routine_labels.add(tokens[self.index].text.lower())
            self.index += 2
        self._take("BEGIN")
        if self._word() == "NOT" and self._word(1) == "ATOMIC":
            self.index += 2
        steps = self._statements({"END"})
        self._take("END")
        if outermost:
            if self.index < len(tokens) and tokens[self.index].token_type != TokenType.SEMICOLON:
                self.index += 1
            return steps
        self._end_label()
        return steps

    def _psm_declare(self) -> list[Step]:
        """`DECLARE a, b INT DEFAULT 0`, a cursor, a condition, or a handler (read past)."""
        self._take("DECLARE")
        if self._word() in ("CONTINUE", "EXIT", "UNDO") and self._word(1) == "HANDLER":
            self.index += 2
            self._take("FOR")
            while self.index < len(self.tokens):
                token, before = self.tokens[self.index], self.tokens[self.index - 1]
                named = token.token_type == TokenType.VAR and before.token_type in (TokenType.COMMA, TokenType.FOR)
                if word(token) in _HANDLER_CONDITIONS or token.token_type in (TokenType.STRING, TokenType.NUMBER, TokenType.COMMA) or named:
                    self.index += 1
                    continue
                break
            self._statement()  # the handler's statement or block: it runs only on an error
            return []
        declaration = self._until_semicolon()
        names: list[str] = []
        index = 0
        while index < len(declaration) and declaration[index].token_type == TokenType.VAR:
            names.append(declaration[index].text.lower())
            if index + 1 < len(declaration) and declaration[index + 1].token_type == TokenType.COMMA:
                index += 2
                continue
            break
        words = [word(t) for t in declaration]
        if "CURSOR" in words or "CONDITION" in words:
            return []
        self.variables.add(*names)
        if "DEFAULT" in words:
            value = declaration[words.index("DEFAULT") + 1 :]
            return [step for name in names for step in self._assignment(VariableRef(name), value, declaration)]
        return []

    def _statements(self, stops: Collection[str]) -> list[Step]:
        steps: list[Step] = []
        while self.index < len(self.tokens):
            if self._word() in stops:
                return steps
            steps.extend(self._statement())
        raise _Unreadable("the body ends inside a block")

    def _statement(self) -> list[Step]:
        token = self.tokens[self.index]
        keyword = word(token)
        if token.token_type == TokenType.SEMICOLON:
            self.index += 1
            return []
        if self.grammar == "plpgsql" and token.token_type == TokenType.LT:
            label = self._pg_label()
            if label is None:
                raise _Unreadable("<")
            return self._statement()
        if self.grammar == "psm" and self._word(1) == ":" and self._word(2) in ("BEGIN", "LOOP", "WHILE", "REPEAT", "FOR"):
            if self._word(2) == "BEGIN":
                return self._psm_block()
            self.index += 2
            return self._statement()
        if keyword == "IF":
            return [self._if()]
        if keyword == "CASE":
            return [self._case()]
        if keyword in ("LOOP", "WHILE", "REPEAT", "FOR", "FOREACH"):
            return self._loop()
        if self.grammar == "plpgsql" and keyword in ("BEGIN", "DECLARE"):
            return self._pg_block()
        if keyword == "BEGIN":
            return self._psm_block()
        if keyword == "DECLARE":
            return self._psm_declare()
        return self._simple(self._until_semicolon())

    # ---- control flow

    def _if(self) -> BranchStep:
        first = self._take("IF")
        arms: list[Arm] = []
        test: Test | None = self._test(self._until_word({"THEN"}))
        self.index += 1
        arms.append(Arm(test, tuple(self._statements({"ELSIF", "ELSEIF", "ELSE", "END"}))))
        while True:
            keyword = self._word()
            if keyword in ("ELSIF", "ELSEIF"):
                self.index += 1
                test = self._test(self._until_word({"THEN"}))
                self.index += 1
                arms.append(Arm(test, tuple(self._statements({"ELSIF", "ELSEIF", "ELSE", "END"}))))
            elif keyword == "ELSE":
                self.index += 1
                arms.append(Arm(None, tuple(self._statements({"END"}))))
            else:
                self._take("END")
                last = self._take("IF")
                self._skip_semicolon()
                return BranchStep(*self._lines(first, last), tuple(arms))

    def _case(self) -> BranchStep:
        first = self._take("CASE")
        selector = self._until_word({"WHEN"})
        arms: list[Arm] = []
        while self._word() == "WHEN":
            self.index += 1
            condition = self._until_word({"THEN"})
            self.index += 1
            arms.append(Arm(self._test(selector + condition), tuple(self._statements({"WHEN", "ELSE", "END"}))))
        if self._word() == "ELSE":
            self.index += 1
            arms.append(Arm(None, tuple(self._statements({"END"}))))
        self._take("END")
        last = self._take("CASE")
        self._end_label()
        return BranchStep(*self._lines(first, last), tuple(arms))

    def _loop(self) -> list[Step]:
        first = self.tokens[self.index]
        keyword = self._word()
        self.index += 1
        test: Test | None = None
        query: SqlStep | None = None
        before: list[Step] = []
        if keyword == "WHILE":
            test = self._test(self._until_word({"LOOP", "DO"}))
            self.index += 1
        elif keyword in ("FOR", "FOREACH"):
            header = self._until_word({"LOOP", "DO"})
            self.index += 1
            query, before = self._for_header(header)
        steps = self._statements({"END", "UNTIL"} if keyword == "REPEAT" else {"END"})
        if keyword == "REPEAT":
            self._take("UNTIL")
            test = self._test(self._until_word({"END"}))
        last = self._take("END")
        self.index += 1  # LOOP / WHILE / REPEAT / FOR
        self._end_label()
        return [*before, LoopStep(*self._lines(first, last), tuple(steps), test, query)]

    def _for_header(self, header: list[Token]) -> tuple[SqlStep | None, list[Step]]:
        """`FOR r IN SELECT ...`: the query whose rows `r` walks; a range or an array fills it with values."""
        words = [word(t) for t in header]
        if "IN" not in words or not header:
            raise _Unreadable("FOR")
        at = words.index("IN")
        names = [t.text.lower() for t in header[:at] if t.token_type != TokenType.COMMA and word(t) not in ("SLICE",) and t.token_type != TokenType.NUMBER]
        self.variables.add(*names)
        rest = header[at + 1 :]
        first = word(rest[0]) if rest else ""
        line, end_line = self._lines(header[0], header[-1])
        if first in _SELECTS:
            step = self._sql(rest, into=tuple(VariableRef(n) for n in names))
            if isinstance(step, SqlStep):
                return step, []
            return None, [step]
        if first == "EXECUTE" or (len(rest) >= 1 and rest[0].token_type == TokenType.VAR and rest[0].text.lower() in self.variables and len(rest) <= 4):
            return None, [OpaqueStep(line, end_line, "a loop over dynamic SQL or a cursor")]
        uses, _ = self._uses(rest)
        return None, [AssignStep(line, end_line, VariableRef(n), uses) for n in names]

    # ---- simple statements

    def _simple(self, tokens: list[Token]) -> list[Step]:
        if not tokens:
            return []
        words = [word(t) for t in tokens]
        keyword, second = words[0], words[1] if len(words) > 1 else ""
        line, end_line = self._lines(tokens[0], tokens[-1])
        if keyword in _SELECTS or keyword in _WRITES or keyword == "LOCK":
            return [self._sql(tokens)]
        if keyword == "PERFORM":
            first = tokens[0]
            select = Token(TokenType.SELECT, "SELECT", first.line, first.col, first.start, first.end, first.comments)
            return [self._sql(tokens, parse_tokens=[select, *tokens[1:]])]
        if keyword in _OPAQUE:
            return [OpaqueStep(line, end_line, keyword.lower())]
        if keyword == "RETURN":
            if second == "NEXT":
                return []
            if second == "QUERY":
                return [self._sql(tokens[2:])] if words[2:3] != ["EXECUTE"] else [OpaqueStep(line, end_line, "dynamic SQL")]
            uses, row_count = self._uses(tokens[1:])
            return [ExitStep(line, end_line, "return", uses, row_count)]
        if keyword == "RAISE":
            return [] if second in _LOG_LEVELS else [ExitStep(line, end_line, "raise")]
        if keyword in ("SIGNAL", "RESIGNAL"):
            return [ExitStep(line, end_line, "raise")]
        if keyword == "LEAVE":
            label = tokens[1].text.lower() if len(tokens) > 1 else ""
            return [ExitStep(line, end_line, "return" if label in self.routine_labels else "loop")]
        if keyword in ("ITERATE", "CONTINUE", "EXIT"):
            if "WHEN" in words:
                test = self._test(tokens[words.index("WHEN") + 1 :])
                return [BranchStep(line, end_line, (Arm(test, (ExitStep(line, end_line, "loop"),)),))]
            return [ExitStep(line, end_line, "loop")]
        if keyword == "GET":
            return self._diagnostics(tokens, words)
        if (keyword == "START" and second == "TRANSACTION") or (keyword == "BEGIN" and second in ("WORK", "TRANSACTION")):
            return [TransactionStep(line, end_line, "begin")]
        if keyword == "COMMIT":
            return [TransactionStep(line, end_line, "commit")]
        if keyword == "ROLLBACK":
            return [] if "TO" in words else [TransactionStep(line, end_line, "rollback")]
        if keyword == "SET":
            return self._psm_set(tokens) if self.grammar == "psm" else []
        if keyword in _NOTHING_TO_ANALYSE:
            return []
        assignment = self._pg_assignment(tokens)
        if assignment is not None:
            return assignment
        return [self._sql(tokens)]

    def _diagnostics(self, tokens: list[Token], words: list[str]) -> list[Step]:
        """`GET [CURRENT] DIAGNOSTICS v = ROW_COUNT, w = PG_CONTEXT`; a STACKED one is about an error."""
        if "STACKED" in words or "DIAGNOSTICS" not in words:
            return []
        steps: list[Step] = []
        items = tokens[words.index("DIAGNOSTICS") + 1 :]
        for index, token in enumerate(items):
            if token.token_type in (TokenType.EQ, TokenType.COLON_EQ) and index > 0 and index + 1 < len(items):
                target = items[index - 1]
                line, end_line = self._lines(target, items[index + 1])
                steps.append(AssignStep(line, end_line, VariableRef(target.text.lower()), row_count=word(items[index + 1]) == "ROW_COUNT"))
        return steps

    def _psm_set(self, tokens: list[Token]) -> list[Step]:
        """MySQL `SET v = expr, w = expr` on the routine's variables; system variables are not followed."""
        steps: list[Step] = []
        for part in _split_commas(tokens[1:]):
            if len(part) >= 3 and part[1].token_type in (TokenType.EQ, TokenType.COLON_EQ) and part[0].text.lower() in self.variables:
                steps.extend(self._assignment(VariableRef(part[0].text.lower()), part[2:], part))
        return steps

    def _pg_assignment(self, tokens: list[Token]) -> list[Step] | None:
        """`v := expr`, `v = expr`, `r.field := expr`, `a[i] := expr`, or None when it is no assignment."""
        if self.grammar != "plpgsql" or tokens[0].token_type != TokenType.VAR:
            return None
        for index, token in enumerate(tokens[1:6], start=1):
            if token.token_type in (TokenType.COLON_EQ, TokenType.EQ):
                field = tokens[2].text.lower() if index == 3 and tokens[1].token_type == TokenType.DOT else None
                return self._assignment(VariableRef(tokens[0].text.lower(), field), tokens[index + 1 :], tokens)
            if token.token_type not in (TokenType.DOT, TokenType.VAR, TokenType.L_BRACKET, TokenType.R_BRACKET, TokenType.NUMBER):
                return None
        return None

    def _assignment(self, target: VariableRef, value: list[Token], whole: list[Token]) -> list[Step]:
        line, end_line = self._lines(whole[0], whole[-1])
        if len(value) > 2 and value[0].token_type == TokenType.L_PAREN and word(value[1]) in _SELECTS and closing(value, 0) == len(value) - 1:
            return [self._sql(value[1:-1], into=(target,))]
        uses, row_count = self._uses(value)
        unknown = any(word(t) in _SELECTS for t in value)
        return [AssignStep(line, end_line, target, uses, row_count, unknown)]

    # ---- expressions and tests

    def _uses(self, tokens: list[Token]) -> tuple[tuple[VariableRef, ...], bool]:
        references = tuple(ref for _, _, ref in self.variables.references(tokens))
        row_count = any(word(t) in _ROW_COUNT_WORDS and t.text.lower() not in self.variables for t in tokens)
        return references, row_count

    def _test(self, tokens: list[Token]) -> Test:
        line, end_line = self._lines(tokens[0], tokens[-1]) if tokens else (1, 1)
        probes: list[Probe] = []
        rest: list[Token] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.token_type == TokenType.L_PAREN and index + 1 < len(tokens) and word(tokens[index + 1]) in _SELECTS:
                close = closing(tokens, index)
                query = self._sql(tokens[index + 1 : close])
                if isinstance(query, SqlStep):
                    probes.append(Probe(query, index > 0 and word(tokens[index - 1]) == "EXISTS"))
                index = close + 1
                continue
            rest.append(token)
            index += 1
        uses, row_count = self._uses(rest)
        return Test(line, end_line, uses, row_count, tuple(probes))

    # ---- SQL statements

    def _sql(self, tokens: list[Token], *, parse_tokens: list[Token] | None = None, into: tuple[VariableRef, ...] = ()) -> SqlStep | OpaqueStep:
        line, end_line = self._lines(tokens[0], tokens[-1])
        parsed = list(parse_tokens if parse_tokens is not None else tokens)
        first = word(parsed[0])
        targets: tuple[VariableRef, ...] = ()
        returning = False
        if first in _SELECTS:
            parsed, targets = self.variables.strip_into(parsed, after=None)
        elif first in _WRITES:
            parsed, targets = self.variables.strip_into(parsed, after="RETURNING")
            returning = bool(targets)
        renamed, variables = self.variables.rename(parsed)
        statement = self.read_sql(list(tokens), renamed)
        if isinstance(statement, SqlError) or (statement.kind == "other" and first in _WRITES | _SELECTS):
            return OpaqueStep(line, end_line, "a statement txlint cannot read")
        row_count = any(word(t) in _ROW_COUNT_WORDS and t.text.lower() not in self.variables for t in parsed)
        return SqlStep(statement, variables, into or targets, returning, row_count)


def _split_commas(tokens: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        if token.token_type == TokenType.COMMA and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return [part for part in parts if part]
