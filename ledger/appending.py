"""The append path: an event becomes a stored row, validated, chained, folded, and followed by what
plugins derive from it, all inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from .batch import Batch
from .chain import link, record_body
from .clock import load_time, new_id, stored_time
from .canonical import dumps, dumps_plain, loads, loads_plain
from .codec import Codec, unknown_type
from .errors import ConflictError, PluginError, Rejected, UsageError
from .history import MAX_LINE
from .hookcalls import blame
from .event import Event
from .plugins import PluginHost
from .record import Record, stored_meta
from .replay import View
from .scenarios import is_scenario
from .store import StoredEvent

#: Derived ids are uuid5 names in this namespace: the same cause always derives the same ids.
DERIVED_IDS = uuid.UUID("6f1c1d2e-52c4-4e3b-9a57-3c0f4b1e9d10")
#: How deep derived events may derive further events before the chain is taken for a loop.
MAX_DERIVATION_DEPTH = 16
MAX_ID = 200
#: The most bytes of JSON a record's data and meta may hold together: what leaves room, within a
#: history line's limit, for the rest of its exported line (seq, id, stream, type, times, hash).
MAX_PAYLOAD = MAX_LINE - 8 * 1024
#: Metadata values copied as they are (anything else is copied through JSON by _json_copy).
_FLAT = frozenset({str, int, bool, type(None)})


def _json_copy(value: Any) -> Any:
    """A deep copy of metadata as the stored JSON will read back (Decimals and floats become
    text, as JSON writes them); refuses what JSON cannot hold."""
    if isinstance(value, str) or value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise Rejected("meta: expected an object with string keys")
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_copy(item) for item in value]
    try:
        copied = loads(dumps(value))
    except (TypeError, ValueError) as error:
        raise Rejected(f"meta: not JSON: {error}") from None
    # a float reads back as a Decimal, which the stored JSON holds as text: read it as that
    return loads(dumps(copied)) if isinstance(copied, Decimal) else copied


def _out_of_sequence(seq: int, last: int) -> str:
    """Why an exported record cannot come next after ``last``, the exported record restored
    just before it in the same import (0: it is the first, into an empty ledger): a seq missing
    from the export, or its records out of order."""
    where = (f"follows seq {last} in this export" if last
             else "is the first record of this export, into an empty ledger")
    what = (f"seq {last + 1} is not next (left out, or out of order)" if seq > last + 1
            else "its records are out of order, or repeated")
    return f"record seq {seq} {where}: {what}; an export is imported whole and in order"


#: How a record's id was made (``Ready.made``): by the ledger, by the caller, derived from a cause.
NEW, GIVEN, DERIVED = 0, 1, 2


class Ready(NamedTuple):
    """An event made ready to append: everything of its record that the ledger's state does not
    decide (``Appender.prepare``). ``event`` is None when it was made in another process; either
    way the record's event is rebuilt from ``data``, as a replay reads it."""

    type: str
    schema: int
    event: Event | None
    data: dict[str, Any]
    data_text: str
    meta: Mapping[str, Any]
    meta_text: str
    stream: str
    id: str
    made: int
    occurred: str
    timed: bool  # occurred_at was given (not the batch's time)


def check_name(field: str, value: Any) -> None:
    """Refuse an id or a stream that is not short, printable, non-empty text."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID or not value.isprintable():
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise Rejected(f"{field}: expected non-empty printable text of at most {MAX_ID} characters,"
                       f" got {shown}")


#: What ``derive_events`` may return by mistake for a list: iterating it would give its keys,
#: letters or fields.
_ONE_THING = (Mapping, str, bytes, Event)


def _returned_one(plugin: str, result: Any) -> PluginError:
    """The error for ``derive_events`` returning one thing (an event, a dict) for a list."""
    what = "an event" if isinstance(result, Event) else f"a {type(result).__name__}"
    return PluginError(f"plugin {plugin}: derive_events returned {what}; it returns a list of "
                       "events (or None)", plugin=plugin)


def _not_registered(event: Any, cls: type[Event]) -> str:
    """Why ``event`` is not of the class registered for its type: often the same class imported
    twice (a plugin loaded by its path, and imported again by its module name)."""
    if isinstance(event, type):
        return (f"{event.__name__} is an event class; append takes an event: "
                f"{event.__name__}(field=value, ...)")
    given = type(event)
    message = f"{given.__name__} is not the class registered for {cls.type!r}"
    if given.__name__ == cls.__name__ and given.__module__ != cls.__module__:
        message += (f" (yours comes from module {given.__module__}, the registered one from "
                    f"{cls.__module__}: a plugin loaded by its path is imported apart; take the "
                    f"class from book.event_types[{cls.type!r}], or load the plugin by its module "
                    "name)")
    return message


class Appender:
    """Turns events (or exported records) into rows of a batch, calling the plugins' hooks."""

    def __init__(self, codec: Codec, host: PluginHost,
                 decode: Callable[[StoredEvent, Event | None], Record]) -> None:
        self.codec = codec
        self.decode = decode
        self.validators = host.hook("validate_event")
        self.derivers = host.hook("derive_events")

    def add(
        self,
        batch: Batch,
        view: View,
        event: Event,
        occurred_at: Any = None,
        stream: str | None = None,
        expected_version: int | None = None,
        id: str | None = None,
        meta: Mapping[str, Any] | None = None,
        *,
        cause: Record | None = None,
        plugin: str | None = None,
        index: int = 0,
        depth: int = 0,
    ) -> Record:
        """Append one event and, depth first, what it derives; return its record (or the stored
        one, when its id exists with the same content)."""
        ready = self.prepare(event, occurred_at, stream, id, meta, cause, plugin, index,
                             batch.recorded_text)
        return self.append_ready(batch, view, ready, expected_version, cause, depth)

    def prepare(self, event: Event, occurred_at: Any, stream: str | None, id: str | None,
                meta: Mapping[str, Any] | None, cause: Record | None = None,
                plugin: str | None = None, index: int = 0, now: str | None = None) -> Ready:
        """The part of an append that needs nothing of the ledger's state: the event checked and
        written as canonical JSON, its metadata, stream, time and id. ``now`` is the stored text
        of the batch's time (None: ``occurred_at`` must be given)."""
        cls = self.codec.types.get(getattr(event, "type", None))  # type: ignore[arg-type]
        if cls is None:
            if isinstance(event, Mapping):
                raise Rejected("append takes an event object (an instance of a registered event "
                               "class), not a dict; for a type name and a JSON payload, use "
                               "book.event_from(type, data)")
            raise Rejected(unknown_type(getattr(event, "type", event), self.codec.types))
        if not isinstance(event, cls):
            raise Rejected(_not_registered(event, cls))
        type_name = cls.type
        data = self.codec.unstructure(event)
        plain = type(event) is cls and type_name in self.codec.plain_types
        if plain:
            data_text = dumps_plain(data)
        else:
            try:
                data_text = dumps(data)
            except (TypeError, ValueError) as error:  # a value JSON has no text for
                raise Rejected(f"data: {error}") from None
            if type_name not in self.codec.checked_types:
                self.codec.reads_back(event, data_text)
        if meta is None and cause is None:
            meta_text = "{}"
        else:
            meta_text = dumps_plain(self._meta(meta, cause, plugin))  # JSON values and Decimals
        if len(data_text) + len(meta_text) > MAX_PAYLOAD // 4:  # else it fits, whatever it holds
            size = len(data_text.encode("utf-8", "surrogatepass")) + len(meta_text.encode("utf-8", "surrogatepass"))
            if size > MAX_PAYLOAD:
                raise Rejected(f"data and meta hold {size:,} bytes of JSON; a record holds at most "
                               f"{MAX_PAYLOAD:,}, so that its exported line imports again "
                               f"(a history line is at most {MAX_LINE:,} bytes)")
        if stream is None:
            stream = event.default_stream()
        else:
            check_name("stream", stream)
        if occurred_at is not None:
            occurred = stored_time(occurred_at)
        elif now is not None:
            occurred = now
        else:
            raise UsageError("occurred_at: required outside a batch")
        if cause is not None:
            id, made = str(uuid.uuid5(DERIVED_IDS, f"{cause.id}\x1f{plugin}\x1f{index}")), DERIVED
        elif id is not None:
            made = GIVEN
        else:
            id, made = new_id(), NEW
        if made != NEW:
            check_name("id", id)
        # meta as every record read back has it: read-only, parsed when first looked into
        return Ready(type_name, cls.schema, event, data, data_text, stored_meta(meta_text),
                     meta_text, stream, id, made, occurred, occurred_at is not None)

    def append_ready(self, batch: Batch, view: View, ready: Ready,
                     expected_version: int | None = None, cause: Record | None = None,
                     depth: int = 0) -> Record:
        """The rest of an append, in the batch: the id and the stream's version checked, the
        record chained, validated, stored and folded, and what plugins derive from it appended.
        A ``Ready`` without its event (made in another process) gets it rebuilt from its data."""
        (type_name, schema, event, data, data_text, meta, meta_text, stream, id, made, occurred,
         timed) = ready
        if made != NEW:
            row = batch.existing(id)
            if row is not None:
                same = (row.type, row.stream, row.data, row.meta) == (type_name, stream, data_text,
                                                                      meta_text)
                if same and (not timed or row.occurred_at == occurred):
                    if made == GIVEN:
                        batch.skipped += 1
                    return self.decode(row, None)
                if row.seq > batch.start:  # written by this batch: not stored, nor will be
                    raise ConflictError(f"id {id!r} is given twice in this batch or import, with "
                                        f"other content (first as its record seq {row.seq})")
                raise ConflictError(f"id {id!r} exists already (seq {row.seq}) with other content")
        current = batch.version(stream)
        if expected_version is not None and (isinstance(expected_version, bool)
                                             or not isinstance(expected_version, int)):
            raise UsageError(f"expected_version: a whole number (0 for a new stream), not "
                             f"{type(expected_version).__name__} {expected_version!r}")
        if expected_version is not None and expected_version != current:
            raise ConflictError(
                f"stream {stream!r} is at version {current}, not the expected {expected_version}"
            )
        # The event as a replay will read it back, from its stored payload, whatever form its
        # values were given in (``Decimal("100e9")`` is stored as ``"100000000000"``): the live
        # view folds, and the snapshots it saves hold, exactly what a replay of the log does.
        event = self.codec.loader(type_name)(data)
        seq = batch.seq + 1
        recorded = batch.recorded_text
        body = record_body(seq, id, stream, current + 1, type_name, schema, occurred,
                           recorded, data_text, meta_text)
        try:
            digest = link(batch.hash, body)
        except UnicodeEncodeError:
            raise Rejected("data or meta holds text that is not valid Unicode") from None
        record = Record(seq, id, stream, current + 1, type_name, schema, load_time(occurred),
                        batch.recorded_at, data, meta, digest, event)
        self._validate(event, record, view)
        stored = StoredEvent(seq, id, stream, current + 1, type_name, schema, occurred,
                             recorded, data_text, meta_text, digest)
        batch.push(stored)
        if made != NEW and batch.fresh:  # the ids that can repeat: given, or derived
            batch.given[id] = stored
        view.fold(record, event, occurred)
        if is_scenario(meta_text):
            view.scenario_records += 1
        derived = self._derive(event, record, view)
        for name, followers in derived:
            if depth >= MAX_DERIVATION_DEPTH:
                raise PluginError(
                    f"plugin {name}: derived events more than {MAX_DERIVATION_DEPTH} levels "
                    f"deep from seq {seq}; is derive_events looping?",
                    plugin=name,
                )
            for number, follower in enumerate(followers):
                if not isinstance(follower, Event):
                    raise PluginError(
                        f"plugin {name}: derive_events returned {follower!r}, not an event",
                        plugin=name,
                    )
                self.add(batch, view, follower, occurred, cause=record, plugin=name,
                         index=number, depth=depth + 1)
        return record

    def restore(self, batch: Batch, view: View, line: Mapping[str, Any]) -> None:
        """Store an exported record as it was, after checking it continues the chain; nothing is
        derived (what was derived is in the export too)."""
        id = line["id"]
        check_name("id", id)
        data_text, meta_text = dumps(line["data"]), dumps(line["meta"])
        row = batch.existing(id, everywhere=True)  # an export may be imported twice at once
        given = StoredEvent(line["seq"], id, line["stream"], line["version"], line["type"],
                            line["schema"], line["occurred_at"], line["recorded_at"], data_text,
                            meta_text, line["hash"])
        if row is not None:
            if tuple(row) != given:
                raise ConflictError(f"id {id!r} exists already (seq {row.seq}) with other content")
            batch.skipped += 1
            return
        for key in ("occurred_at", "recorded_at"):
            if stored_time(line[key], key) != line[key]:
                raise Rejected(f"{key}: {line[key]!r} is not in the stored form "
                               "YYYY-MM-DDTHH:MM:SS.ffffffZ")
        if line["seq"] != batch.seq + 1 and (batch.restored_to == batch.seq or batch.seq == 0):
            raise ConflictError(_out_of_sequence(line["seq"], batch.seq))
        if line["seq"] != batch.seq + 1:
            raise ConflictError(
                f"record seq {line['seq']} cannot follow this ledger's seq {batch.seq}: import an "
                "export into an empty ledger, or leave out seq and hash to append the events anew"
            )
        current = batch.version(line["stream"])
        if line["version"] != current + 1:
            raise ConflictError(f"record seq {line['seq']}: gives version {line['version']!r} of "
                                f"stream {line['stream']!r}, which is at version {current}: the "
                                f"next is {current + 1}")
        if link(batch.hash, record_body(*given[:10])) != line["hash"]:
            raise Rejected(f"record seq {line['seq']}: hash does not match: the record was "
                           "altered, or does not follow the previous one")
        event = self.codec.structure(line["type"], line["data"], line["schema"])
        record = self.decode(given, event)
        self._validate(event, record, view)
        batch.push(given)
        batch.restored_to = given.seq
        view.fold(record, event, line["occurred_at"])
        if is_scenario(meta_text):
            view.scenario_records += 1

    def prepare_line(self, line: Mapping[str, Any]) -> tuple[Any, ...]:
        """A history line to append (not an exported record), made ready in another process
        and sent as text (``add_sent`` rebuilds the rest): ``Ready`` without its event, data as
        canonical JSON only, meta as text."""
        event = self.codec.structure(line["type"], line["data"])
        ready = self.prepare(event, line["occurred_at"], line.get("stream"), line.get("id"),
                             line.get("meta"))
        return (ready.type, ready.schema, ready.data_text, ready.meta_text, ready.stream, ready.id,
                ready.made, ready.occurred, ready.timed)

    def add_sent(self, batch: Batch, view: View, sent: tuple[Any, ...]) -> None:
        """Append a line ``prepare_line`` made ready: its data and meta read back as a replay
        reads them, its event rebuilt from its data."""
        type_name, schema, data_text, meta_text, stream, id, made, occurred, timed = sent
        data = loads_plain(data_text) if type_name in self.codec.plain_types else loads(data_text)
        self.append_ready(batch, view, Ready(type_name, schema, None, data, data_text,
                                             stored_meta(meta_text), meta_text, stream, id, made,
                                             occurred, timed))

    def add_line(self, batch: Batch, view: View, line: Mapping[str, Any]) -> None:
        """Append one line of a history: an event to append anew, or an exported record."""
        if "hash" in line:
            self.restore(batch, view, line)
            return
        event = self.codec.structure(line["type"], line["data"])
        self.add(batch, view, event, line["occurred_at"], line.get("stream"), None,
                 line.get("id"), line.get("meta"))

    @staticmethod
    def _meta(given: Mapping[str, Any] | None, cause: Record | None,
              plugin: str | None) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if given:
            if not isinstance(given, Mapping) or not all(isinstance(k, str) for k in given):
                raise Rejected("meta: expected an object with string keys")
            if "derived_by" in given and cause is None:
                raise Rejected("meta.derived_by: set by the ledger on derived events only")
            if type(given) is dict and set(map(type, given.values())) <= _FLAT:
                meta = dict(given)  # what _json_copy gives for flat metadata, at C speed
            else:
                meta = _json_copy(given)
        if cause is not None:
            meta["causation_id"] = cause.id
            meta["correlation_id"] = cause.meta.get("correlation_id", cause.id)
            meta["derived_by"] = plugin
            if "source" in cause.meta and "source" not in meta:
                meta["source"] = cause.meta["source"]
            if cause.meta.get("scenario") is True:  # what follows from a scenario is one too
                meta["scenario"] = True
        return meta

    def _validate(self, event: Event, record: Record, view: View) -> None:
        """Every plugin's validate_event for this type; a refusal names the plugin, any other
        error is its failure."""
        hook = self.validators
        implementations = hook.for_type(record.type)
        if implementations:
            arguments = {"event": event, "record": record, "view": view}
            for implementation in implementations:
                hook.call_one(implementation, arguments)

    def _derive(self, event: Event, record: Record, view: View) -> list[tuple[str, list[Event]]]:
        """What each plugin derives from one event, every plugin seeing the same view."""
        hook = self.derivers
        implementations = hook.for_type(record.type)
        if not implementations:
            return []
        arguments = {"event": event, "record": record, "view": view}
        derived = []
        for implementation in implementations:
            try:  # the result may be a generator: iterating it runs the plugin's code too
                result = hook.call_one(implementation, arguments)
                if result is not None and type(result) is not list \
                        and isinstance(result, _ONE_THING):
                    raise _returned_one(implementation.plugin, result)  # blame lets it pass
                followers = list(result or ())
            except Exception as error:
                blamed = blame(error, implementation.plugin, hook.name, record)
                if blamed is error:
                    raise
                raise blamed from error
            if followers:
                derived.append((implementation.plugin, followers))
        return derived
