"""Twitter customer-care corpora mapped to ticket events: one thread, one ticket.

Two formats are read, chosen by file name: ``*.json`` is the IBM CDP dataset (a
JSON list of conversations), ``*.csv`` is the TWCS corpus ("Customer Support on
Twitter": one tweet per row, threads linked by ``in_response_to_tweet_id``). A
directory imports each such file in it, in name order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slaengine.importers.base import (
    BOM,
    Event,
    ImportFormatError,
    ImportOptions,
    ImportReport,
    JsonArrayError,
    csv_rows,
    iso,
    json_array_items,
)
from slaengine.inputs.files import open_text

CHANNEL = "twitter"
PRIORITY = "normal"
# Twitter's snowflake ids carry their creation time: milliseconds since this epoch.
_SNOWFLAKE_EPOCH_MS = 1288834974657
_TWCS_TIME = "%a %b %d %H:%M:%S %z %Y"
_TWCS_COLUMNS = ("tweet_id", "author_id", "inbound", "created_at", "in_response_to_tweet_id")
_MENTION = re.compile(r"@(\w+)")
_CDP = "an IBM CDP conversation list"
_SUFFIXES = (".json", ".csv", ".json.gz", ".csv.gz")


def events(path: Path, options: ImportOptions) -> Iterator[Event]:
    """Events of every thread in a CDP ``.json`` file, a TWCS ``.csv`` file or a directory.

    ``.gz`` files are read compressed.
    """
    report = options.report
    files = (
        sorted(p for p in path.iterdir() if p.name.lower().endswith(_SUFFIXES))
        if path.is_dir()
        else [path]
    )
    for file in files:
        if file.name.lower().endswith((".csv", ".csv.gz")):
            yield from twcs_events(file, report)
        else:
            yield from cdp_events(file, report, strict=not path.is_dir())


# -- IBM CDP: a JSON list of conversations -----------------------------------


def snowflake_time(tweet_id: str) -> dt.datetime:
    """When a tweet was posted, from its id (exact to the millisecond; seconds kept)."""
    ms = (int(tweet_id) >> 22) + _SNOWFLAKE_EPOCH_MS
    return dt.datetime.fromtimestamp(ms // 1000, dt.UTC)


def cdp_events(path: Path, report: ImportReport, strict: bool = True) -> Iterator[Event]:
    """Events of each conversation in one CDP file; a bad conversation is skipped.

    A file that is not a list of conversations is another kind of file: with
    ``strict`` (a file named on its own) that is an :class:`ImportFormatError`;
    in a directory it is reported and skipped.
    """
    source = str(path)
    with open_text(path) as stream:
        try:
            for line, conversation in json_array_items(stream):
                if strict and report.rows == 0 and not _is_conversation(conversation):
                    raise ImportFormatError(
                        source, _CDP, "its first item has no 'dialogHeader' and 'dialogContent'"
                    )
                report.rows += 1
                try:
                    mapped = cdp_conversation(conversation)
                except (KeyError, TypeError, ValueError) as exc:
                    report.skip(source, line, "bad conversation", _why(exc))
                    continue
                yield from mapped
        except JsonArrayError as exc:
            if strict:
                raise ImportFormatError(source, _CDP, str(exc)) from None
            report.skip(source, exc.line, "not a list of conversations", str(exc))


def _is_conversation(item: object) -> bool:
    return isinstance(item, dict) and "dialogHeader" in item and "dialogContent" in item


def cdp_conversation(conversation: dict[str, Any]) -> list[Event]:
    """One CDP conversation as events: created, the turns, the final URL reply, solved.

    The ticket is ``cdp-<sessionID>``. Turns with a ``client``-like key (``client``,
    ``client1``, ...) are customer messages, turns with ``agent`` are brand replies.
    The final ``agentURL`` reply has no timestamp: its tweet id gives it.
    """
    header = conversation["dialogHeader"]
    ticket = f"cdp-{_required(header, 'sessionID')}"
    brand = _required(header, "company")
    turns: list[tuple[dt.datetime, str, str, str]] = []  # (at, tweet id, author, who)
    for turn in conversation["dialogContent"]:
        tweet = _required(turn, "tweet_ID")
        at = _utc(dt.datetime.fromisoformat(_required(turn, "datetime")))
        if "agent" in turn:
            turns.append((at, tweet, "agent", str(turn["agent"])))
        else:
            client = next((k for k in turn if k.startswith("client")), None)
            if client is None:
                raise ValueError(f"turn {tweet} names neither a client nor an agent")
            turns.append((at, tweet, "customer", str(turn[client])))
    customers = [t for t in turns if t[2] == "customer"]
    if not customers:
        raise ValueError("no customer turn")
    if any(t[2] == "agent" and t[0] < min(c[0] for c in customers) for t in turns):
        raise ValueError("an agent turn comes before the first customer turn")
    final = conversation.get("agentURL")
    if isinstance(final, dict) and final.get("tweet_ID"):
        tweet = str(final["tweet_ID"])
        if all(tweet != t[1] for t in turns):
            turns.append((snowflake_time(tweet), tweet, "agent", brand))
    return _thread_events(ticket, brand, turns)


# -- TWCS: one tweet per CSV row ---------------------------------------------


@dataclass(slots=True)
class _Tweet:
    line: int
    author: str
    inbound: bool
    at: dt.datetime
    parent: str | None
    mentions: tuple[str, ...]
    children: list[str] = field(default_factory=list)


def twcs_events(path: Path, report: ImportReport) -> Iterator[Event]:
    """Events of each thread in one TWCS file.

    Threads are rebuilt from ``in_response_to_tweet_id``, so every tweet is held
    (without its text) until the file is read; a reply whose parent is not in the
    file starts its own thread.
    """
    source = str(path)
    tweets = _read_twcs(path, report)
    brands = {t.author.lower(): t.author for t in tweets.values() if not t.inbound}
    for tweet_id, tweet in tweets.items():
        if tweet.parent is not None and tweet.parent in tweets:
            tweets[tweet.parent].children.append(tweet_id)
    roots = [i for i, t in tweets.items() if t.parent is None or t.parent not in tweets]
    for root in roots:
        thread = _walk(tweets, root)
        thread.sort(key=lambda i: (tweets[i].at, tweets[i].line))
        first = next((i for i in thread if tweets[i].inbound), None)
        if first is None:
            for i in thread:
                report.skip(source, tweets[i].line, "thread has no customer tweet", f"tweet {i}")
            continue
        turns = []
        for i in thread:
            tweet = tweets[i]
            if tweet.at < tweets[first].at:
                report.skip(source, tweet.line, "brand tweet before the first customer tweet", i)
                continue
            turns.append((tweet.at, i, "customer" if tweet.inbound else "agent", tweet.author))
        brand = next((who for _, _, author, who in turns if author == "agent"), None)
        if brand is None:  # no reply yet: the brand the customer addressed
            brand = next(
                (brands[m.lower()] for m in tweets[first].mentions if m.lower() in brands), None
            )
        yield from _thread_events(f"twcs-{first}", brand, turns)


def _read_twcs(path: Path, report: ImportReport) -> dict[str, _Tweet]:
    source = str(path)
    tweets: dict[str, _Tweet] = {}
    # The corpus has raw carriage returns inside unquoted text: lines end at \n only.
    with open_text(path, newline="\n") as stream:
        rows = csv_rows(stream, bare_cr=True)
        header = next(rows, None)
        if header is None:
            raise ImportFormatError(source, "a TWCS tweet file", "the file is empty")
        columns = {name.lstrip(BOM): n for n, name in enumerate(header[1])}
        missing = [c for c in (*_TWCS_COLUMNS, "text") if c not in columns]
        if missing:
            raise ImportFormatError(
                source, "a TWCS tweet file", "no column " + ", ".join(repr(c) for c in missing)
            )
        for line, row in rows:
            report.rows += 1
            try:
                tweet_id, tweet = _twcs_row(row, columns)
            except (IndexError, ValueError) as exc:
                report.skip(source, line, "bad tweet row", _why(exc))
                continue
            if tweet_id in tweets:
                report.skip(source, line, "repeated tweet_id", tweet_id)
                continue
            tweet.line = line
            tweets[tweet_id] = tweet
    return tweets


def _twcs_row(row: list[str], columns: dict[str, int]) -> tuple[str, _Tweet]:
    def get(name: str) -> str:
        return row[columns[name]].strip()

    tweet_id = get("tweet_id")
    if not tweet_id:
        raise ValueError("empty tweet_id")
    inbound = get("inbound")
    if inbound not in {"True", "False"}:
        raise ValueError(f"inbound must be True or False, got {inbound!r}")
    author = get("author_id")
    if not author:
        raise ValueError("empty author_id")
    at = dt.datetime.strptime(get("created_at"), _TWCS_TIME)
    parent_text = get("in_response_to_tweet_id")
    # pandas wrote the parent id as a float ("3.0").
    parent = str(int(float(parent_text))) if parent_text else None
    mentions = tuple(_MENTION.findall(get("text"))) if inbound == "True" else ()
    return tweet_id, _Tweet(0, author, inbound == "True", _utc(at), parent, mentions)


def _walk(tweets: dict[str, _Tweet], root: str) -> list[str]:
    found, todo = [], [root]
    while todo:
        tweet_id = todo.pop()
        found.append(tweet_id)
        todo.extend(tweets[tweet_id].children)
    return found


# -- shared ------------------------------------------------------------------


def _thread_events(
    ticket: str, brand: str | None, turns: list[tuple[dt.datetime, str, str, str]]
) -> list[Event]:
    """Created at the first customer turn, one message per later turn, solved at the last reply.

    The opening tweet *is* the ``created`` event (opened by the customer): writing
    it again as a message would count the opening request twice. A thread the
    brand never answered stays open. Turns are ordered by time.
    """
    turns = sorted(turns, key=lambda t: t[0])
    first = next(t for t in turns if t[2] == "customer")
    created: Event = {
        "id": "created",
        "ticket": ticket,
        "at": iso(first[0]),
        "type": "created",
        "channel": CHANNEL,
        "priority": PRIORITY,
        "customer": first[3],
        "author": "customer",
    }
    if brand is not None:
        created["group"] = brand
    out = [created]
    for at, tweet, author, who in turns:
        if tweet == first[1]:
            continue
        message: Event = {
            "id": f"tweet-{tweet}",
            "ticket": ticket,
            "at": iso(at),
            "type": "message",
            "author": author,
        }
        if author == "agent":
            message["agent"] = who
        out.append(message)
    replies = [t for t in turns if t[2] == "agent"]
    if replies:
        out.append(
            {
                "id": "solved",
                "ticket": ticket,
                "at": iso(replies[-1][0]),
                "type": "status",
                "status": "solved",
            }
        )
    return out


def _required(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if value is None or str(value).strip() == "":
        raise ValueError(f"empty {key!r}")
    return str(value)


def _utc(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError(f"timestamp {instant.isoformat()} has no UTC offset")
    return instant.astimezone(dt.UTC).replace(microsecond=0)


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    return str(exc)
