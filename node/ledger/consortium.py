"""The consortium as this node trusts it: the roster chain from a pinned root, kept in LMDB, and its effects.

`TrustedRoster` (node/membership/roster.py) decides; this module does the I/O around it. The node starts from the roster
file its config names (the root of trust, pinned by `node.roster_id` unless it is version 1), replays the
versions it verified before from the store's `rosters` table (verifying them again), and from then on accepts
newer versions from the operator (`Admin.SubmitRoster`) and from peers (`Membership.GetRosters`). Each
accepted version is written to the store before anyone hears of it, then:

* the `TrustStore` of the peer listener and the peer channels is rebuilt (`PeerTrust.from_roster`), so a
  revoked or suspended member's connections are refused from the next call on;
* listeners run with the `RosterChange`: the ledger and the replica switch to the new `Membership` (pending
  entries are classified again), the node stops authoring if its own member is no longer active, and records
  signed by a newly revoked member after its cutoff are withheld (node/ledger/revocation.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from node.core.errors import DataCorruption, StorageError
from node.membership.members import Membership
from node.membership.roster import (
    ExpiredRosterError,
    MemberStatus,
    Roster,
    RosterError,
    RosterMember,
    SignedRoster,
    TrustedRoster,
)
from node.membership.trust import PeerTrust, TrustStore
from node.storage.store import Store

log = logging.getLogger(__name__)

PIN_KEY = b"roster.pin"


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class RosterChange:
    """One step of the chain: the roster trusted before and the one trusted now."""

    previous: Roster
    current: Roster

    def newly(self, status: MemberStatus) -> tuple[RosterMember, ...]:
        """Members that have `status` now and did not before (or are new with it)."""
        changed = []
        for member in self.current.members:
            before = self.previous.member(member.member_id)
            if member.status == status and (before is None or before.status != status):
                changed.append(member)
        return tuple(changed)


Listener = Callable[[RosterChange], None]


class Consortium:
    """The node's `TrustedRoster`, persisted, with the TLS trust set and listeners. Thread-safe."""

    def __init__(
        self, trusted: TrustedRoster, store: Store, *, clock: Callable[[], int] = wall_clock_ms
    ) -> None:
        self._trusted = trusted
        self._store = store
        self._clock = clock
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._trust_listeners: list[Callable[[], None]] = []
        self.trust = TrustStore(PeerTrust.from_roster(trusted.roster, clock()))

    @classmethod
    def open(
        cls,
        store: Store,
        root: SignedRoster,
        *,
        pinned_id: bytes | None = None,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> Consortium:
        """Trusts `root` (checked against `pinned_id`, else the store's pin), then the stored chain.

        Raises:
            PinnedRosterMismatchError, ThresholdError, MalformedRosterError: the root is not trustworthy.
            StorageError: the store holds a roster chain that does not continue from this root.
        """
        with store.read() as txn:
            stored_pin = store.get_state(txn, PIN_KEY)
            stored = list(store.rosters(txn))
        pin = pinned_id or stored_pin
        trusted = TrustedRoster(root.roster_bytes, root.signatures, pinned_id=pin)
        for version, data in stored:
            _replay(trusted, root, version, data, clock())
        consortium = cls(trusted, store, clock=clock)
        consortium._persist_root(root, pinned_id if stored_pin is None else None)
        if consortium.expired():
            log.warning("%s", consortium.expiry_message())
        return consortium

    def _persist_root(self, root: SignedRoster, pin: bytes | None) -> None:
        with self._store.write() as txn:
            if not any(
                v == root.roster.version for v, _ in self._store.rosters(txn, root.roster.version - 1)
            ):
                self._store.put_roster(txn, root.roster.version, root.to_json().encode("utf-8"))
            if pin is not None:
                self._store.put_state(txn, PIN_KEY, pin)

    # --- reading -------------------------------------------------------------------------------------------

    @property
    def roster(self) -> Roster:
        """The newest trusted roster (possibly expired: see `expired`)."""
        with self._lock:
            return self._trusted.roster

    @property
    def signed(self) -> SignedRoster:
        with self._lock:
            return self._trusted.signed

    @property
    def consortium_id(self) -> str:
        return self.roster.consortium_id

    def membership(self) -> Membership:
        """The newest trusted roster's membership. Used even when expired: entries verified against an expired
        roster are still verified by the stewards' last word; the health summary reports the expiry."""
        return self.roster.membership()

    def expired(self) -> bool:
        return self.roster.expires_ms < self._clock()

    def expiry_message(self) -> str:
        roster = self.roster
        return (
            f"roster version {roster.version} expired at {roster.expires_ms}; the stewards must publish "
            "a newer one (hashnode admin publish) or a peer must have it"
        )

    def since(self, version: int) -> tuple[SignedRoster, ...]:
        """The stored rosters above `version`, oldest first: what a peer at `version` is missing.

        Read from the store, so versions below this node's root (kept from before) are served too.
        """
        with self._store.read() as txn:
            stored = [data for _, data in self._store.rosters(txn, version)]
        return tuple(SignedRoster.from_json(data.decode("utf-8")) for data in stored)

    # --- changing ------------------------------------------------------------------------------------------

    def on_change(self, listener: Listener) -> None:
        """Registers a callback run, in order, after each newly trusted version is stored."""
        self._listeners.append(listener)

    def submit(self, signed: SignedRoster) -> RosterChange | None:
        """Verifies the next roster version and, if it is new, stores and applies it.

        Returns the change, or None when this exact roster is already trusted.

        Raises:
            RosterError: the roster does not verify against the trusted one (subclasses say why). An expired
                roster that verifies is trusted (so that its predecessor cannot be replayed) and then reported
                with ExpiredRosterError.
        """
        with self._lock:
            previous = self._trusted.roster
            expired: ExpiredRosterError | None = None
            try:
                self._trusted.update(signed.roster_bytes, signed.signatures, self._clock())
            except ExpiredRosterError as exc:
                expired = exc
            current = self._trusted.roster
            change = None if current.version == previous.version else RosterChange(previous, current)
            if change is not None:
                self._apply(change)
        if expired is not None:
            raise expired
        return change

    def submit_chain(self, chain: Iterable[SignedRoster]) -> list[RosterChange]:
        """`submit` for consecutive versions, oldest first; versions already trusted are skipped.

        Raises: as `submit`; the versions before the failing one stay trusted and applied.
        """
        changes = []
        for signed in chain:
            if signed.roster.version <= self.roster.version and signed.roster_bytes == self._bytes_of(signed):
                continue
            change = self.submit(signed)
            if change is not None:
                changes.append(change)
        return changes

    def _bytes_of(self, signed: SignedRoster) -> bytes | None:
        with self._lock:
            found = [s for s in self._trusted.history if s.roster.version == signed.roster.version]
        return found[0].roster_bytes if found else None

    def _apply(self, change: RosterChange) -> None:
        signed = self._trusted.signed
        with self._store.write() as txn:
            self._store.put_roster(txn, change.current.version, signed.to_json().encode("utf-8"))
        self.trust.set(PeerTrust.from_roster(change.current, self._clock()))
        log.info(
            "trusting roster version %d (id %s…, %d members)",
            change.current.version,
            signed.roster_id.hex()[:16],
            len(change.current.members),
        )
        for listener in self._listeners:
            listener(change)

    def refresh_trust(self) -> bool:
        """Rebuilds the TLS trust set from the newest roster at the current time, as certificate windows
        open and close; returns whether it changed (then whoever holds channels pinned to it reopens them).
        """
        trust = PeerTrust.from_roster(self.roster, self._clock())
        if trust == self.trust.get():
            return False
        self.trust.set(trust)
        for listener in self._trust_listeners:
            listener()
        return True

    def on_trust_change(self, listener: Callable[[], None]) -> None:
        """Registers a callback run when the trust set changes without a new roster (a window moved)."""
        self._trust_listeners.append(listener)


def _replay(trusted: TrustedRoster, root: SignedRoster, version: int, data: bytes, now_ms: int) -> None:
    """Applies one stored roster version during `Consortium.open`."""
    try:
        signed = SignedRoster.from_json(data.decode("utf-8"))
    except (RosterError, UnicodeDecodeError) as exc:
        raise DataCorruption("rosters", f"version {version}", f"does not decode ({exc})") from exc
    if version < root.roster.version:
        return
    if version == root.roster.version:
        if signed.roster_bytes != root.roster_bytes:
            raise StorageError(
                f"the store holds roster version {version} with id {signed.roster_id.hex()}, but the "
                f"configured root is {root.roster_id.hex()}: this data directory belongs to another chain"
            )
        return
    try:
        trusted.update_chain([signed], now_ms)
    except ExpiredRosterError:
        pass  # trusted all the same; `Consortium.expired` reports it
    except RosterError as exc:
        raise StorageError(f"stored roster version {version} no longer verifies: {exc}") from exc
