"""Traffic per service and the disk estimate between scans (pure: no I/O).

Events are attributed to the service owning the bucket (`<username>--*`), whoever made the request (a presigned
or public read of a tenant's object is that tenant's traffic); requests without a bucket (ListBuckets) go to the
user who made them. Counters are kept per service and UTC day; the estimate's inputs per service and UTC second (a
figure taken within a second must be told from the writes and deletes around it: see `estimate`).

Billed is only what the customer did (`Attribution.billing`):
- "refused": refused for authentication or authorization (401, 403) whoever asked, and any client error (4xx:
  a bucket that does not exist, a key that does not exist, a bad request) of a request that is not the owner's own
  (anonymous, or another account's). Billed to nobody: counted as `refused` for the admin, no bytes, no request class.
  Anyone can send requests naming a customer's bucket; usernames are easy to guess.
- "own": requests signed with the server's admin key (the daemon's listings, usage checks, account set-up, and the
  files moved through the self-service panel): not billed; what they store or delete still counts toward the disk
  estimate (the bytes are the customer's).
- "billed": everything else.

The estimate of a service's stored bytes between two scans is

    last figure (scan or exact listing) + bytes written since - bytes known to be deleted since

where "known" means: objects and multipart parts whose size this meter saw written since the figure was taken (an
overwrite of such an object in an unversioned bucket frees the old size too). Deleting an object from before the
figure frees space the estimate cannot see, so the estimate only errs high; the next scan or listing corrects it.
Parts of unfinished multipart uploads count as written as soon as they arrive, so a tenant cannot park data past
its limit in uploads it never completes; aborting the upload gives them back.

ostor's statistics objects arrive as rows per bucket, epoch, user and tag: `sum_per_owner_day` adds them up per
(object, user, day) before they are stored, so no row is lost to a repeated key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from bridge.domain.audit_events import COPIES, AuditEvent
from bridge.domain.naming import SEPARATOR
from bridge.domain.values import TrafficRecord

FigureSource = Literal["scan", "listing", "estimate"]
Billing = Literal["billed", "refused", "own"]


@dataclass(slots=True)
class TrafficCounts:
    bytes_in: int = 0
    bytes_out: int = 0
    read: int = 0
    write: int = 0
    list: int = 0
    delete: int = 0
    other: int = 0
    refused: int = 0  # requests refused to someone else (or unauthenticated): billed to nobody

    def add(self, e: AuditEvent) -> None:
        self.bytes_in += e.bytes_in
        self.bytes_out += e.bytes_out
        c = e.rclass
        if c == "read":
            self.read += 1
        elif c == "write":
            self.write += 1
        elif c == "list":
            self.list += 1
        elif c == "delete":
            self.delete += 1
        else:
            self.other += 1

    @property
    def requests(self) -> int:
        return self.read + self.write + self.list + self.delete + self.other


@dataclass(slots=True)
class DiskDelta:
    written: int = 0
    deleted: int = 0
    unsized: bool = False  # a write of unknown size (a copy of an object this meter never saw written)


class Attribution:
    """Which service an event belongs to, on one server, and whether it is billed."""

    def __init__(self, usernames: Mapping[str, int], admin_keys: Iterable[str] = ()) -> None:
        self.by_name = dict(usernames)
        self.admin_keys = frozenset(k for k in admin_keys if k)

    def service_of(self, e: AuditEvent) -> int | None:
        if e.bucket:
            prefix, sep, _ = e.bucket.partition(SEPARATOR)
            return self.by_name.get(prefix) if sep else None
        return self.by_name.get(e.user)

    def billing(self, sid: int, e: AuditEvent) -> Billing:
        """Whether service `sid`'s event is the customer's doing (see the module's docstring)."""
        status = e.status
        if status == 401 or status == 403:
            return "refused"
        if e.access_key in self.admin_keys or e.user in self.admin_keys:
            return "own"
        if 400 <= status < 500 and self.by_name.get(e.user) != sid:
            return "refused"
        return "billed"


class KnownObjects:
    """Sizes of objects and upload parts this meter saw written, per service, bounded (least recently written
    forgotten first): what a later delete, overwrite or abort is known to free."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._sizes: OrderedDict[tuple[int, str, str], int] = OrderedDict()
        self._uploads: dict[tuple[int, str], int] = {}

    def __len__(self) -> int:
        return len(self._sizes) + len(self._uploads)

    def _remember(self, k: tuple[int, str, str], size: int) -> None:
        self._sizes[k] = size
        self._sizes.move_to_end(k)
        while len(self._sizes) > self.max_entries:
            self._sizes.popitem(last=False)

    def size_of(self, sid: int, bucket: str, key: str) -> int | None:
        return self._sizes.get((sid, bucket, key))

    def apply(self, sid: int, e: AuditEvent) -> DiskDelta:
        """The disk delta of one successful request of service `sid`. A copy whose size is not known here (a
        source written before this meter saw it, or another account's) is marked `unsized`: the caller measures
        the service instead of guessing."""
        d = DiskDelta()
        if not e.ok:
            return d
        if e.api in COPIES and e.copy_source is not None:
            size = e.copy_range
            if size is None:
                size = self.size_of(sid, *e.copy_source)
            if size is None:
                d.unsized = True
                return d
            if e.api == "CopyObjectPart":
                d.written = size
                if e.upload_id:
                    u = (sid, e.upload_id)
                    self._uploads[u] = self._uploads.get(u, 0) + size
            else:
                d.written = size
                if not e.versioned:
                    d.deleted = self._sizes.pop((sid, e.bucket, e.object), 0)
                self._remember((sid, e.bucket, e.object), size)
            return d
        if e.api == "PutObjectPart" and e.upload_id:
            d.written = e.written
            u = (sid, e.upload_id)
            self._uploads[u] = self._uploads.get(u, 0) + e.written
        elif e.api == "AbortMultipartUpload" and e.upload_id:
            d.deleted = self._uploads.pop((sid, e.upload_id), 0)
        elif e.api == "CompleteMultipartUpload" and e.upload_id:
            parts = self._uploads.pop((sid, e.upload_id), 0)
            if parts and not e.versioned:  # the parts are now the object: an overwrite frees the old one
                d.deleted = self._sizes.pop((sid, e.bucket, e.object), 0)
            if parts:
                self._remember((sid, e.bucket, e.object), parts)
        elif e.written:
            d.written = e.written
            if not e.versioned:
                d.deleted = self._sizes.pop((sid, e.bucket, e.object), 0)
            self._remember((sid, e.bucket, e.object), e.written)
        elif e.api == "DeleteObject" and not e.versioned:
            d.deleted = self._sizes.pop((sid, e.bucket, e.object), 0)
        elif e.api == "DeleteMultipleObjects" and not e.versioned:
            d.deleted = sum(self._sizes.pop((sid, e.bucket, o), 0) for o in e.objects)
        return d


@dataclass
class Rollup:
    """What one batch of new events adds: traffic per (service, day), disk deltas per (service, second)."""

    traffic: dict[tuple[int, str], TrafficCounts] = field(default_factory=dict)
    disk: dict[tuple[int, str], DiskDelta] = field(default_factory=dict)
    events: int = 0
    refused: int = 0
    own: int = 0
    unsized: set[int] = field(default_factory=set)  # services that wrote bytes of unknown size: measure them

    @property
    def services(self) -> set[int]:
        return {sid for sid, _ in self.traffic}


def rollup(events: Iterable[tuple[int, AuditEvent, Billing]], known: KnownObjects) -> Rollup:
    """Sum attributed events (service id, event, billing); each event must be new (deduplicated before)."""
    out = Rollup()
    traffic, disk = out.traffic, out.disk
    for sid, e, billing in events:
        out.events += 1
        tk = (sid, e.day)
        t = traffic.get(tk)
        if t is None:
            t = traffic[tk] = TrafficCounts()
        if billing == "billed":
            t.add(e)
        elif billing == "refused":
            t.refused += 1
            out.refused += 1
            continue
        else:
            out.own += 1
        if e.ok and e.rclass in ("write", "delete"):
            delta = known.apply(sid, e)
            if delta.unsized:
                out.unsized.add(sid)
            if delta.written or delta.deleted:
                dk = (sid, e.second)
                acc = disk.get(dk)
                if acc is None:
                    acc = disk[dk] = DiskDelta()
                acc.written += delta.written
                acc.deleted += delta.deleted
    return out


@dataclass(frozen=True)
class Figure:
    """A service's used bytes as a limit decision saw it, and where the number came from."""

    bytes: int
    source: FigureSource
    baseline: int  # the scan or listing figure it starts from
    written: int = 0
    deleted: int = 0


def estimate(baseline: int, baseline_source: FigureSource, written: int, deleted: int) -> Figure:
    """The baseline when nothing happened since, else baseline + written - known deletes (never below zero).

    The caller sums writes from the figure's own second on and deletes only after it: what happened within that
    second may be in the figure or not, and the estimate must never err low (a delete subtracted twice would let a
    tenant write past the limit); a write counted twice errs high, and the next listing or scan corrects it."""
    if not written and not deleted:
        return Figure(baseline, baseline_source, baseline)
    return Figure(max(0, baseline + written - deleted), "estimate", baseline, written, deleted)


# -- ostor statistics objects ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerDayTraffic:
    """One statistics object's traffic of one storage user (one service) on one UTC day: every row of the object
    for that user summed, whatever its bucket, epoch or tag."""

    source: str
    owner_id: str
    day: str  # YYYY-MM-DD (UTC) of the object's period start
    period_start: int
    period_s: int
    ops_put: int = 0
    ops_get: int = 0
    ops_list: int = 0
    ops_other: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


def utc_day(unix_s: int) -> str:
    """The UTC calendar day of a unix time, without a clock read or a time zone database."""
    return date.fromordinal(date(1970, 1, 1).toordinal() + unix_s // 86400).isoformat()


def sum_per_owner_day(records: Iterable[TrafficRecord]) -> list[OwnerDayTraffic]:
    """The rows of statistics objects summed per (object, user, day), in first-seen order.

    A gateway keys its rows by bucket, epoch, user id and tag (guide l.1115-1119), so one object can hold the same
    user and bucket twice (the guide's own sample, l.3349-3350: bucket `client` with epochs 98305 and 90113). Every
    row counts: none is ever dropped as a repeat."""
    out: dict[tuple[str, str, str], OwnerDayTraffic] = {}
    for r in records:
        key = (r.source, r.owner_id, utc_day(r.period_start))
        seen = out.get(key)
        if seen is None:
            out[key] = OwnerDayTraffic(
                r.source, r.owner_id, key[2], r.period_start, r.period_s,
                r.ops_put, r.ops_get, r.ops_list, r.ops_other, r.bytes_in, r.bytes_out,
            )  # fmt: skip
            continue
        out[key] = replace(
            seen,
            period_start=min(seen.period_start, r.period_start),
            period_s=max(seen.period_s, r.period_s),
            ops_put=seen.ops_put + r.ops_put,
            ops_get=seen.ops_get + r.ops_get,
            ops_list=seen.ops_list + r.ops_list,
            ops_other=seen.ops_other + r.ops_other,
            bytes_in=seen.bytes_in + r.bytes_in,
            bytes_out=seen.bytes_out + r.bytes_out,
        )
    return list(out.values())
