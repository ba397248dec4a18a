"""The advanced filter of a campaign's contacts: a small query language with strict names.

    state = "waiting" and priority >= 10 and (timezone = "Europe/Paris" or agent = "jdoe")

Tokens come from djangoql's lexer, the tree is djangoql's AST and every variable is a djangoql
field of `ContactSchema`, mapped to a fixed ORM path. The parser is ours: djangoql's does not place
its semantic errors (an unknown name, a value of the wrong type) and reads `a and b or c` as
`a and (b or c)` (ivelum/djangoql#130); here `and` binds tighter than `or`, as in SQL and Python.

Safety: nothing is evaluated; names are looked up in the fixed vocabulary below, values reach the
database only as query parameters after conversion to the variable's type, and the length, the
number of clauses and the nesting are capped. Scoping stays the caller's: apply() only narrows the
queryset it is given.

Meaning of the less obvious variables:
- a date or time stands for its whole span: `next_try = "2026-12-01"` is that day,
  `next_try <= "2026-12-01 10:00"` includes 10:00:59; values are read in the current time zone;
- `address` and `address_state` are true when *any* of the contact's addresses matches;
  their negations (`!=`, `!~`, `not in`…) mean that *none* does;
- `attempts` is the most attempts made on one of the contact's addresses (0 without addresses);
- `custom.<name>` is a custom field compared as text; None when the contact does not have it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery, TextField, lookups
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from djangoql.ast import Comparison, Const, Expression, List, Logical, Name
from djangoql.exceptions import DjangoQLLexerError
from djangoql.lexer import DjangoQLLexer
from djangoql.parser import unescape
from djangoql.schema import BoolField, DateTimeField, DjangoQLSchema, IntField, StrField

from campaigns.models import CampaignContact, ContactAddress

MAX_LENGTH = 2000
MAX_CLAUSES = 50
MAX_DEPTH = 10

TEXT_OPERATORS = ("=", "!=", "~", "!~", "startswith", "not startswith", "endswith")
TEXT_OPERATORS += ("not endswith", "in", "not in")
NUMBER_OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in")
CHOICE_OPERATORS = ("=", "!=", "in", "not in")
BOOL_OPERATORS = ("=", "!=")
MOMENT_OPERATORS = ("=", "!=", ">", ">=", "<", "<=")
LIST_OPERATORS = ("in", "not in")

# For the "add a clause" form: every operator, with what it means.
OPERATORS = (
    ("=", gettext_lazy("= (is)")),
    ("!=", gettext_lazy("!= (is not)")),
    (">", gettext_lazy("> (more than, after)")),
    (">=", gettext_lazy(">= (at least, from)")),
    ("<", gettext_lazy("< (less than, before)")),
    ("<=", gettext_lazy("<= (at most, until)")),
    ("~", gettext_lazy("~ (contains)")),
    ("!~", gettext_lazy("!~ (does not contain)")),
    ("startswith", gettext_lazy("startswith")),
    ("not startswith", gettext_lazy("not startswith")),
    ("endswith", gettext_lazy("endswith")),
    ("not endswith", gettext_lazy("not endswith")),
    ("in", gettext_lazy("in (one of, comma-separated)")),
    ("not in", gettext_lazy("not in (none of, comma-separated)")),
)

TEXT = gettext_lazy("text")
NUMBER = gettext_lazy("whole number")
CHOICE = gettext_lazy("one of a list")
BOOLEAN = gettext_lazy("True or False")
MOMENT = gettext_lazy("date and time")

_OPERATOR_TOKENS = {
    "EQUALS": "=",
    "NOT_EQUALS": "!=",
    "GREATER": ">",
    "GREATER_EQUAL": ">=",
    "LESS": "<",
    "LESS_EQUAL": "<=",
    "CONTAINS": "~",
    "NOT_CONTAINS": "!~",
    "IN": "in",
    "STARTSWITH": "startswith",
    "ENDSWITH": "endswith",
}
# Keywords in any case (the lexer knows only `and`, `True`…); `null` for those who think in SQL.
_KEYWORDS = {word: word.upper() for word in ("and", "or", "not", "in", "true", "false", "none")}
_KEYWORDS |= {"startswith": "STARTSWITH", "endswith": "ENDSWITH", "null": "NONE"}
_STRING = re.compile(
    f"{DjangoQLLexer.re_double_quoted_string}|{DjangoQLLexer.re_single_quoted_string}"
)
_UNSEARCHABLE = re.compile("[\x00\ud800-\udfff]")
_INTEGER = re.compile(r"-?[0-9]+")
_MOMENT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"
)
_LOOKUPS = {
    "": lookups.Exact,
    "__gt": lookups.GreaterThan,
    "__gte": lookups.GreaterThanOrEqual,
    "__lt": lookups.LessThan,
    "__lte": lookups.LessThanOrEqual,
    "__in": lookups.In,
    "__icontains": lookups.IContains,
    "__istartswith": lookups.IStartsWith,
    "__iendswith": lookups.IEndsWith,
}


class QueryError(ValueError):
    """A filter that cannot be applied.

    `message` says what is wrong and where (translated); `position` and `length` locate the bad
    part as 0-based character offsets into the expression; `problem` is the message without the
    location, for a form that has no expression to point into.
    """

    def __init__(self, message: str, position: int = 0, length: int = 0, problem: str = ""):
        super().__init__(message)
        self.message, self.position, self.length = message, position, length
        self.problem = problem or message


class FieldHelp(NamedTuple):
    name: str
    type: str
    description: str


class _Invalid(Exception):
    """A value that does not fit its variable; the parser adds where it is."""

    def __init__(self, problem: str, hint: str = ""):
        super().__init__(problem)
        self.problem, self.hint = problem, hint


@dataclass(frozen=True)
class Span:
    """What a written date or time stands for: [start, end), a day, a minute or a second."""

    start: datetime
    end: datetime


class Token(NamedTuple):
    type: str
    value: str  # as written; a string without its quotes, escapes not yet read
    position: int
    length: int


# --- the variables -------------------------------------------------------------------------------


class _Variable:
    """A documented name of the language, mapped to a fixed ORM path (never to user input)."""

    operators: tuple[str, ...] = ()
    kind = TEXT

    def __init__(self, name: str, path: str, description, *, nullable: bool = False):
        super().__init__(model=CampaignContact, name=name, nullable=nullable)
        self.path, self.description = path, description

    def get_lookup_name(self) -> str:
        return self.path

    def get_lookup_value(self, value):
        # Values were converted by convert(); djangoql's own choice mapping must not run again.
        return value

    def convert(self, token: Token) -> object:
        raise NotImplementedError

    def literal(self, raw: str) -> str:
        """`raw` (typed in the "add a clause" form) written as this variable's value."""
        return "None" if self.nullable and not raw else quote(raw)

    def _shown(self, token: Token) -> str:
        return unescape(token.value) if token.type == "STRING_VALUE" else token.value


class Text(_Variable, StrField):
    operators = TEXT_OPERATORS

    def convert(self, token: Token) -> object:
        if token.type == "STRING_VALUE":
            return _text(token.value)
        if token.type in ("INT_VALUE", "FLOAT_VALUE"):
            # A contact ID or a code may well be digits: no need to quote them.
            return token.value
        if token.type == "NAME":
            raise _Invalid(
                _("Text goes in quotes: “%(value)s” (%(name)s)")
                % {"value": token.value, "name": self.name},
                _("write %(quoted)s") % {"quoted": quote(token.value)},
            )
        raise _Invalid(
            _("%(name)s is text, not “%(value)s”") % {"name": self.name, "value": token.value},
            _("put the text in quotes"),
        )


class Choice(Text):
    operators = CHOICE_OPERATORS
    kind = CHOICE

    def __init__(self, name: str, path: str, description, choices):
        self.choices = choices
        super().__init__(name, path, format_lazy("{} ({})", description, self.values_text()))

    def values_text(self) -> str:
        return ", ".join(self.choices.values)

    def convert(self, token: Token) -> object:
        value = super().convert(token)
        if isinstance(value, str) and value.lower() in self.choices.values:
            return value.lower()
        close = difflib.get_close_matches(str(value).lower(), self.choices.values, 1, 0.6)
        hint = (
            _("did you mean “%(value)s”?") % {"value": close[0]}
            if close
            else _("use one of: %(values)s") % {"values": self.values_text()}
        )
        raise _Invalid(
            _("“%(value)s” is not a value of %(name)s") % {"value": value, "name": self.name}, hint
        )

    def literal(self, raw: str) -> str:
        for value, label in self.choices.choices:
            if raw.strip().lower() in (value, str(label).lower()):
                return quote(value)
        return quote(raw)


class Number(_Variable, IntField):
    operators = NUMBER_OPERATORS
    kind = NUMBER

    def __init__(self, name: str, path: str, description, *, low: int = 0, high: int = 2**31 - 1):
        super().__init__(name, path, description)
        self.low, self.high = low, high

    def convert(self, token: Token) -> object:
        written = self._shown(token).strip()
        if token.type in ("INT_VALUE", "STRING_VALUE") and _INTEGER.fullmatch(written):
            if len(written) > 12 or not self.low <= int(written) <= self.high:
                raise _Invalid(
                    _("%(value)s is out of range for %(name)s (%(low)s to %(high)s)")
                    % {"value": written, "name": self.name, "low": self.low, "high": self.high}
                )
            return int(written)
        if token.type == "FLOAT_VALUE":
            problem = _("“%(value)s” is not a whole number (%(name)s)")
        else:
            problem = _("“%(value)s” is not a number (%(name)s)")
        raise _Invalid(problem % {"value": written, "name": self.name})

    def literal(self, raw: str) -> str:
        return raw.strip() if _INTEGER.fullmatch(raw.strip()) else quote(raw)


class Boolean(_Variable, BoolField):
    operators = BOOL_OPERATORS
    kind = BOOLEAN
    WORDS = {"true": "True", "yes": "True", "oui": "True", "1": "True"}
    WORDS |= {"false": "False", "no": "False", "non": "False", "0": "False"}

    def convert(self, token: Token) -> object:
        if token.type in ("TRUE", "FALSE"):
            return token.type == "TRUE"
        raise _Invalid(
            _("“%(value)s” is not True or False (%(name)s)")
            % {"value": self._shown(token), "name": self.name}
        )

    def literal(self, raw: str) -> str:
        return self.WORDS.get(raw.strip().lower(), quote(raw))


class Moment(_Variable, DateTimeField):
    operators = MOMENT_OPERATORS
    kind = MOMENT

    def convert(self, token: Token) -> object:
        span = _span(unescape(token.value)) if token.type == "STRING_VALUE" else None
        if span is None:
            raise _Invalid(
                _("“%(value)s” is not a date (%(name)s)")
                % {"value": self._shown(token), "name": self.name},
                _('write "2026-12-01" or "2026-12-01 10:00"'),
            )
        return span

    def get_lookup(self, path, operator, value):
        field = "__".join([*path, self.path])
        if value is None:
            q = Q(**{f"{field}__isnull": True})
            return ~q if operator == "!=" else q
        if operator in ("=", "!="):
            q = Q(**{f"{field}__gte": value.start, f"{field}__lt": value.end})
            return ~q if operator == "!=" else q
        bound = {"<": ("lt", value.start), ">=": ("gte", value.start)}
        bound |= {">": ("gte", value.end), "<=": ("lt", value.end)}
        lookup, moment = bound[operator]
        return Q(**{f"{field}__{lookup}": moment})


class _OnAddresses:
    """True when any of the contact's addresses matches; a negation, when none does."""

    def get_lookup(self, path, operator, value):
        suffix, invert = self.get_operator(operator)
        rows = ContactAddress.objects.filter(contact=OuterRef("pk"), **{self.path + suffix: value})
        return ~Q(Exists(rows)) if invert else Q(Exists(rows))


class AddressText(_OnAddresses, Text):
    pass


class AddressChoice(_OnAddresses, Choice):
    pass


class Attempts(Number):
    """The most attempts made on one of the contact's addresses (0 without addresses)."""

    def get_lookup(self, path, operator, value):
        most = (
            ContactAddress.objects.filter(contact=OuterRef("pk"))
            .values("contact")
            .annotate(most=Max("attempts"))
            .values("most")
        )
        suffix, invert = self.get_operator(operator)
        q = Q(_LOOKUPS[suffix](Coalesce(Subquery(most), 0), value))
        return ~q if invert else q


class Custom(Text):
    """A custom field, compared as text; the key is a query parameter, never a lookup path."""

    def __init__(self, key: str):
        super().__init__(f"custom.{key}", "custom_fields", "", nullable=True)
        self.key = key

    def get_lookup(self, path, operator, value):
        text = Cast(KeyTextTransform(self.key, "custom_fields"), TextField())
        absent = Q(lookups.IsNull(text, True))
        if value is None:
            return ~absent if operator == "!=" else absent
        suffix, invert = self.get_operator(operator)
        q = Q(_LOOKUPS[suffix](text, value))
        # As for the other variables, "is not x" includes the contacts that have no value.
        return ~q | absent if invert else q


_VARIABLES = (
    Text("id", "external_id", gettext_lazy("Contact ID")),
    Choice("state", "state", gettext_lazy("Contact state"), CampaignContact.State),
    Number(
        "priority",
        "priority",
        gettext_lazy("Priority, 255 the highest"),
        low=-32768,
        high=32767,
    ),
    Boolean("top_priority", "top_priority", gettext_lazy("Top priority")),
    Moment(
        "next_try",
        "next_try_at",
        gettext_lazy("Next try; None when not planned (launched by priority)"),
        nullable=True,
    ),
    Text("timezone", "time_zone", gettext_lazy("Time zone of the contact, e.g. Europe/Paris")),
    Text(
        "agent",
        "preferred_agent__username",
        gettext_lazy("User name of the preferred agent; None when there is none"),
        nullable=True,
    ),
    Text("list", "contact_list__name", gettext_lazy("Name of the contact list")),
    Text(
        "qualification",
        "qualification__code",
        gettext_lazy("Qualification code; None when there is none"),
        nullable=True,
    ),
    Number("reschedules", "manual_reschedules", gettext_lazy("Number of manual reschedules")),
    Moment("updated", "updated_at", gettext_lazy("Last update")),
    Moment("created", "created_at", gettext_lazy("Creation")),
    AddressText(
        "address",
        "value",
        gettext_lazy(
            "Any of the contact's addresses (phone number in E.164 such as +33612345678, or email); with != or !~, none of them"
        ),
    ),
    AddressChoice(
        "address_state",
        "state",
        gettext_lazy("State of any of its addresses; with != or not in, of none of them"),
        ContactAddress.State,
    ),
    Attempts("attempts", "", gettext_lazy("Most attempts made on one of its addresses")),
)

FIELDS = (
    *(FieldHelp(v.name, v.kind, v.description) for v in _VARIABLES),
    FieldHelp(
        "custom.<name>",
        TEXT,
        gettext_lazy(
            "A custom field of the contact (letters, digits and _ in its name), compared as text; None when the contact does not have it"
        ),
    ),
)


class ContactSchema(DjangoQLSchema):
    """The language's vocabulary as a djangoql schema: these names only, no model traversal.

    Use apply() rather than djangoql's apply_search(), which has neither our positions, nor our
    conversions, nor `and` before `or`.
    """

    include = (CampaignContact,)

    def get_fields(self, model):
        return list(_VARIABLES)


SCHEMA = ContactSchema(CampaignContact)


def variable(name: str) -> _Variable | None:
    """The variable called `name`, custom fields included; None if there is none."""
    if name.startswith("custom.") and name.count(".") == 1:
        return Custom(name.removeprefix("custom."))
    return SCHEMA.models[SCHEMA.model_label(CampaignContact)].get(name)


# --- reading an expression -----------------------------------------------------------------------


def quote(value: str) -> str:
    """`value` as a string of the language: "…" with its backslashes and quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(raw: str) -> str:
    value = unescape(raw)
    # No database stores NUL in text (PostgreSQL refuses it), nor UTF-8 a lone surrogate.
    if _UNSEARCHABLE.search(value):
        raise _Invalid(_("This text holds a character that cannot be searched for"))
    return value


def _span(value: str) -> Span | None:
    match = _MOMENT.fullmatch(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        start = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if match.group(4) is None:
        step = timedelta(days=1)
    else:
        step = timedelta(minutes=1) if match.group(6) is None else timedelta(seconds=1)
    zone = timezone.get_current_timezone()
    return Span(timezone.make_aware(start, zone), timezone.make_aware(start + step, zone))


def _tokens(text: str, fail) -> list[Token]:
    tokens = []
    try:
        for token in DjangoQLLexer().input(text):
            if token.type == "STRING_VALUE":
                length = _STRING.match(text, token.lexpos).end() - token.lexpos
            else:
                length = len(token.value)
            kind = _KEYWORDS.get(token.value.lower(), token.type)
            kind = kind if token.type == "NAME" else token.type
            tokens.append(Token(kind, token.value, token.lexpos, length))
    except DjangoQLLexerError as error:
        position = len(text) - len(error.value)
        char = error.value[0]
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        if char in "\"'":
            line_end = re.search(r"[\n\r\u2028\u2029]|$", text[position:]).start()
            raise fail(_("This text has no closing quote"), position, line_end) from None
        hint = {
            ";": _("a filter is one expression: join clauses with “and” or “or”"),
            "&": _("join clauses with “and” or “or”"),
            "|": _("join clauses with “and” or “or”"),
            "!": _("write != or !~"),
        }.get(char, "")
        problem = _("Unexpected character “%(char)s”") % {"char": shown}
        raise fail(problem, position, 1, hint) from None
    return tokens


class _Parser:
    """expression := conjunction ("or" conjunction)* ; conjunction := term ("and" term)* ;
    term := "(" expression ")" | variable operator value ; value := constant | "(" constants ")"
    """

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text, self.error)
        self.index = 0
        self.clauses = 0

    def parse(self) -> Expression | None:
        if not self.tokens:
            return None
        tree = self.disjunction(0)
        if (token := self.peek()) is not None:
            problem = (
                _("“)” closes nothing")
                if token.type == "PAREN_R"
                else _("Expected “and”, “or” or the end of the filter, not “%(token)s”")
                % {"token": self.shown(token)}
            )
            raise self.error(problem, token.position, token.length)
        return tree

    def disjunction(self, depth: int) -> Expression:
        tree = self.conjunction(depth)
        while self.accept("OR"):
            tree = Expression(tree, Logical("or"), self.conjunction(depth))
        return tree

    def conjunction(self, depth: int) -> Expression:
        tree = self.term(depth)
        while self.accept("AND"):
            tree = Expression(tree, Logical("and"), self.term(depth))
        return tree

    def term(self, depth: int) -> Expression:
        token = self.next(_("a variable name or “(”"))
        if token.type == "PAREN_L":
            if depth >= MAX_DEPTH:
                problem = _("Too many nested parentheses (at most %(max)d)") % {"max": MAX_DEPTH}
                raise self.error(problem, token.position, 1)
            tree = self.disjunction(depth + 1)
            closing = self.peek()
            if closing is None:
                raise self.error(_("This “(” is never closed"), token.position, 1)
            if closing.type != "PAREN_R":
                problem = _("Expected “and”, “or” or “)”, not “%(token)s”") % {
                    "token": self.shown(closing)
                }
                raise self.error(problem, closing.position, closing.length)
            self.index += 1
            return tree
        if token.type != "NAME":
            problem = _("Expected a variable name, not “%(token)s”") % {"token": self.shown(token)}
            raise self.error(problem, token.position, token.length, _variables_hint())
        return self.comparison(token)

    def comparison(self, name: Token) -> Expression:
        found = variable(name.value)
        if found is None:
            problem, hint = _unknown(name.value)
            raise self.error(problem, name.position, name.length, hint)
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            problem = _("Too many clauses (at most %(max)d)") % {"max": MAX_CLAUSES}
            raise self.error(problem, name.position, name.length)
        operator = self.operator(found, name)
        if operator in LIST_OPERATORS:
            value = self.constants(found, operator)
        else:
            expected = _("a value after “%(operator)s”") % {"operator": operator}
            value = self.constant(found, operator, self.next(expected))
        return Expression(Name(name.value.split(".")), Comparison(operator), value)

    def operator(self, found: _Variable, name: Token) -> str:
        token = self.next(_("an operator after “%(name)s”") % {"name": name.value})
        operator, end = _OPERATOR_TOKENS.get(token.type), token
        following = self.peek()
        if token.type == "NOT" and following and following.type in ("IN", "STARTSWITH", "ENDSWITH"):
            self.index += 1
            operator, end = "not " + _OPERATOR_TOKENS[following.type], following
        if operator is None:
            problem = _("Expected an operator after “%(name)s”, not “%(token)s”") % {
                "name": name.value,
                "token": self.shown(token),
            }
            hint = _("use one of: %(operators)s") % {"operators": ", ".join(found.operators)}
            raise self.error(problem, token.position, token.length, hint)
        if operator not in found.operators:
            problem = _("“%(operator)s” cannot be used with %(name)s") % {
                "operator": operator,
                "name": found.name,
            }
            hint = _("use one of: %(operators)s") % {"operators": ", ".join(found.operators)}
            length = end.position + end.length - token.position
            raise self.error(problem, token.position, length, hint)
        return operator

    def constant(self, found: _Variable, operator: str, token: Token) -> Const:
        if token.type == "NONE":
            if not found.nullable:
                problem = _("%(name)s is never None") % {"name": found.name}
                raise self.error(problem, token.position, token.length)
            if operator not in ("=", "!="):
                problem = _("None can only be compared with = or !=")
                raise self.error(problem, token.position, token.length)
            return Const(None)
        if token.type == "EQUALS" and operator == "=":
            raise self.error(_("One “=” is enough"), token.position, token.length)
        try:
            return Const(found.convert(token))
        except _Invalid as invalid:
            raise self.error(invalid.problem, token.position, token.length, invalid.hint) from None

    def constants(self, found: _Variable, operator: str) -> List:
        opening = self.next(_("a list after “%(operator)s”") % {"operator": operator})
        if opening.type != "PAREN_L":
            problem = _("Expected a list in parentheses after “%(operator)s”, not “%(token)s”") % {
                "operator": operator,
                "token": self.shown(opening),
            }
            raise self.error(problem, opening.position, opening.length, _('e.g. ("a", "b")'))
        items = []
        while True:
            token = self.next(_("a value"))
            if token.type == "NONE":
                problem = _("None cannot be in a list: use = None or != None")
                raise self.error(problem, token.position, token.length)
            if token.type == "PAREN_R" and not items:
                raise self.error(_("The list is empty"), opening.position, 2)
            items.append(self.constant(found, "=", token))
            separator = self.next(_("“,” or “)”"))
            if separator.type == "PAREN_R":
                return List(items)
            if separator.type != "COMMA":
                problem = _("Expected “,” or “)” in the list, not “%(token)s”") % {
                    "token": self.shown(separator)
                }
                raise self.error(problem, separator.position, separator.length)

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def accept(self, kind: str) -> bool:
        token = self.peek()
        if token is not None and token.type == kind:
            self.index += 1
            return True
        return False

    def next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            problem = _("The filter ends too early: expected %(expected)s") % {"expected": expected}
            raise self.error(problem, len(self.text), 0)
        self.index += 1
        return token

    def shown(self, token: Token) -> str:
        written = self.text[token.position : token.position + token.length]
        return written if len(written) <= 30 else written[:29] + "…"

    def error(self, problem: str, position: int, length: int, hint: str = "") -> QueryError:
        line = self.text.count("\n", 0, position) + 1
        column = position - self.text.rfind("\n", 0, position)
        where = (
            _("at column %(column)d") % {"column": column}
            if line == 1
            else _("at line %(line)d, column %(column)d") % {"line": line, "column": column}
        )
        tail = f" — {hint}" if hint else ""
        return QueryError(f"{problem} {where}{tail}", position, length, problem + tail)


def _unknown(name: str) -> tuple[str, str]:
    problem = _("Unknown variable “%(name)s”") % {"name": name}
    if name.startswith("custom."):
        return _("A custom field is written custom.<name>, with one dot"), ""
    names = [field.name for field in _VARIABLES]
    # `agent.password`, `state__in`: a lookup or an attribute tacked onto a variable.
    stem = re.split(r"\.|__", name)[0]
    close = [stem] if stem in names else difflib.get_close_matches(name, names, 1, 0.6)
    if name == "custom":
        close = ["custom.<name>"]
    if close:
        return problem, _("did you mean “%(name)s”?") % {"name": close[0]}
    return problem, _variables_hint()


def _variables_hint() -> str:
    names = [field.name for field in _VARIABLES]
    return _("the variables are %(names)s") % {"names": ", ".join([*names, "custom.<name>"])}


def parse(expression: str) -> Expression | None:
    """The tree of `expression` (None when blank), or QueryError."""
    expression = expression or ""
    if len(expression) > MAX_LENGTH:
        message = _("The filter is too long: %(length)d characters, at most %(max)d") % {
            "length": len(expression),
            "max": MAX_LENGTH,
        }
        raise QueryError(message, MAX_LENGTH, len(expression) - MAX_LENGTH)
    return _Parser(expression).parse()


def _q(tree: Expression) -> Q:
    if isinstance(tree.operator, Logical):
        left, right = _q(tree.left), _q(tree.right)
        return left | right if tree.operator.operator == "or" else left & right
    found = variable(tree.left.value)
    return found.get_lookup([], tree.operator.operator, tree.right.value)


def apply(queryset: QuerySet, expression: str) -> QuerySet:
    """`queryset` narrowed to the contacts `expression` selects; QueryError if it cannot be read.

    The queryset's scoping (tenant, campaign, view) is kept: this only adds conditions.
    """
    found = condition(expression)
    return queryset if found is None else queryset.filter(found)


def condition(expression: str) -> Q | None:
    """The condition `expression` stands for (None when blank), or QueryError."""
    tree = parse(expression)
    return None if tree is None else _q(tree)


# --- writing an expression -----------------------------------------------------------------------


def clause(field: str, operator: str, value: str) -> str:
    """One clause as text, its value written as `field` needs: clause("agent", "=", 'j"d')
    gives `agent = "j\\"d"`. A list operator takes comma-separated values; an empty value of a
    variable that can be None means None. QueryError (without position) if it does not fit."""
    found = variable(field)
    if found is None:
        raise QueryError(" — ".join(filter(None, _unknown(field))))
    if operator not in dict(OPERATORS):
        raise QueryError(_("Unknown operator “%(operator)s”") % {"operator": operator})
    if operator in LIST_OPERATORS:
        items = [item.strip() for item in value.split(",") if item.strip()]
        written = "(" + ", ".join(found.literal(item) for item in items) + ")"
    else:
        written = found.literal(value.strip())
    text = f"{field} {operator} {written}"
    try:
        parse(text)
    except QueryError as error:
        raise QueryError(error.problem) from None
    return text


def append(expression: str, addition: str, join: str = "and") -> str:
    """`expression` joined to `addition` with `join` ("and" or "or"), keeping its meaning:
    `a or b` and `c` gives `(a or b) and c`."""
    expression = (expression or "").strip()
    if not expression:
        return addition
    try:
        tree = parse(expression)
    except QueryError:
        tree = None
    top = getattr(tree, "operator", None)
    if join == "and" and isinstance(top, Logical) and top.operator == "or":
        expression = f"({expression})"
    return f"{expression} {join} {addition}"
