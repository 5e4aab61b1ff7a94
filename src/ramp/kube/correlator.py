"""What to do with one more event: write it, count it on an Event already written, or drop it as spam.

Pure bookkeeping (time is passed in), used by `kube.events.EventRecorder` before each write. It follows the
behaviour client-go's EventCorrelator documents, with the same defaults:

- **aggregation**: events about one object with the same type and reason but different messages are
  "similar"; once 10 different messages were seen within 10 minutes of each other, every further one is
  written as a single Event with the message prefixed `(combined from similar events): ` whose count grows;
- **deduplication**: an event equal to one already written (same object, type, reason, message) patches that
  Event's `count` and `lastTimestamp` instead of creating another;
- **spam filter**: each object gets a token bucket of 25 events per reason, refilled at one every 5 minutes; an
  event (new or a repeat) beyond it is dropped. client-go keeps one bucket per object for all reasons; Ramp keeps
  one per reason, so a burst of one kind (a long rollout's ScalingReplicaSet events) never hides a rarer one that
  matters (AnalysisRunFailed, RolloutAborted), while a loop repeating one reason is still held to the budget.

The memories are LRUs of 4096 entries, as client-go's, so a controller with many objects stays bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ramp.kube.ratelimit import TokenBucket

MAX_SIMILAR = 10
"""Different messages of one type and reason about one object before they are combined (client-go's)."""
SIMILAR_WINDOW = 600.0
"""Seconds: similar events further apart than this start counting again."""
SPAM_BURST = 25
"""Events one object may get at once."""
SPAM_RATE = 1.0 / 300.0
"""Events per second one object gets back after its burst (one every 5 minutes)."""
CACHE_SIZE = 4096
COMBINED_PREFIX = "(combined from similar events): "

ObjectKey = tuple[str, str, str, str, str]
"""(apiVersion, kind, namespace, name, uid) of the object an event is about."""
EventKey = tuple[str, ...]
"""What makes two events the same Event: the object, type, reason and (unless combined) message."""

_K = TypeVar("_K")
_V = TypeVar("_V")


class _Lru(Generic[_K, _V]):
    """A dict that forgets its least recently used entry beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key: _K) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class _Similar:
    messages: set[str] = field(default_factory=set)
    last: float = 0.0


@dataclass(frozen=True)
class Written:
    """An Event on the API server: its name, namespace and count so far."""

    name: str
    namespace: str
    count: int


@dataclass(frozen=True)
class Correlation:
    """The decision for one event: `skip` it, or write `message` as the Event of `key` (`repeat_of` says
    whether that Event exists when the write is due)."""

    key: EventKey = ()
    message: str = ""
    skip: bool = False


class EventCorrelator:
    """Aggregation, deduplication and the per-object spam filter of the events of one recorder."""

    def __init__(
        self,
        *,
        max_similar: int = MAX_SIMILAR,
        similar_window: float = SIMILAR_WINDOW,
        spam_burst: int = SPAM_BURST,
        spam_rate: float = SPAM_RATE,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.max_similar = max_similar
        self.similar_window = similar_window
        self.spam_burst = spam_burst
        self.spam_rate = spam_rate
        self._similar: _Lru[EventKey, _Similar] = _Lru(cache_size)
        self._written: _Lru[EventKey, Written] = _Lru(cache_size)
        self._spam: _Lru[tuple[str, ...], TokenBucket] = _Lru(cache_size)

    def correlate(self, about: ObjectKey, event_type: str, reason: str, message: str, now: float) -> Correlation:
        """Decide for an event recorded at `now` (seconds, any monotonic origin)."""
        key, message = self._aggregate(about, event_type, reason, message, now)
        if not self._allows((*about, reason), now):
            return Correlation(skip=True)
        return Correlation(key, message)

    def repeat_of(self, key: EventKey) -> Written | None:
        """The Event already written for `key`, whose count a repeat raises; None: create one."""
        return self._written.get(key)

    def written(self, key: EventKey, event: Written) -> None:
        """The Event for `key` was created or counted on the API server."""
        self._written.put(key, event)

    def expired(self, key: EventKey) -> None:
        """The Event for `key` is gone from the API server (Events expire after an hour): create it anew."""
        self._written.pop(key)

    def _aggregate(
        self, about: ObjectKey, event_type: str, reason: str, message: str, now: float
    ) -> tuple[EventKey, str]:
        similar_key: EventKey = (*about, event_type, reason)
        record = self._similar.get(similar_key)
        if record is None or now - record.last > self.similar_window:
            record = _Similar()
        record.last = now
        record.messages.add(message)
        self._similar.put(similar_key, record)
        if len(record.messages) < self.max_similar:
            return (*similar_key, message), message
        # Keep the set at its bound: beyond it, every message is combined anyway.
        record.messages.discard(message)
        return similar_key, COMBINED_PREFIX + message

    def _allows(self, about: tuple[str, ...], now: float) -> bool:
        bucket = self._spam.get(about)
        if bucket is None:
            bucket = TokenBucket(self.spam_rate, self.spam_burst)
            self._spam.put(about, bucket)
        return bucket.try_take(now)
