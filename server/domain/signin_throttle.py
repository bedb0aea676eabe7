"""Sign-in throttling: how long a password sign-in must wait after failures. Pure: the adapter
passes the time in and carries out the verdict (a 429 with Retry-After, or the password check).

Policy (documented in the README, "Sign-in throttling"):
- Per client address: ``address_free`` failures in a row are free; each further one blocks the
  address for 1, 2, 4, ... seconds, capped at ``address_max_block_s`` (a few minutes). A
  successful sign-in from the address resets its count.
- Per account: ``account_free`` failures from anywhere are free (generous: an attacker's own
  address is blocked long before); past them each failure blocks the account for 1, 2, 4, ...
  seconds, capped at ``account_max_block_s`` (short). Addresses that signed in to the account
  successfully before are exempt, so an attacker cannot lock a teacher out of a lesson from
  somewhere else; a successful sign-in also resets the account's count.
- While blocked, attempts are refused without checking the password and are not counted, so
  hammering does not lengthen a block. Counts are forgotten ``forget_after_s`` after the last
  failure. At most ``max_tracked`` addresses and accounts are remembered (oldest dropped).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

KNOWN_ADDRESSES_PER_ACCOUNT = 8


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    address_free: int = 5
    address_max_block_s: float = 300.0
    account_free: int = 20
    account_max_block_s: float = 60.0
    forget_after_s: float = 900.0
    max_tracked: int = 10_000


@dataclass(slots=True)
class _Record:
    failures: int = 0
    last_failure: float = 0.0
    blocked_until: float = 0.0
    good_addresses: list[str] = field(default_factory=list)


def _backoff(failures: int, free: int, cap: float) -> float:
    """Seconds to block after the ``failures``-th failure in a row: 0 while free, then 1, 2,
    4, ... up to ``cap``."""
    over = failures - free
    if over <= 0:
        return 0.0
    return min(cap, 2.0 ** min(over - 1, 62))


class SigninThrottle:
    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        self._addresses: OrderedDict[str, _Record] = OrderedDict()
        self._accounts: OrderedDict[str, _Record] = OrderedDict()

    def wait(self, account: str, address: str, now: float) -> float:
        """Seconds this attempt must wait (0: go ahead and check the password)."""
        waits = [self._get(self._addresses, address, now).blocked_until - now]
        record = self._get(self._accounts, account, now)
        if address not in record.good_addresses:
            waits.append(record.blocked_until - now)
        return max(0.0, *waits)

    def failed(self, account: str, address: str, now: float) -> None:
        policy = self.policy
        for table, key, free, cap in (
            (self._addresses, address, policy.address_free, policy.address_max_block_s),
            (self._accounts, account, policy.account_free, policy.account_max_block_s),
        ):
            record = self._get(table, key, now)
            record.failures += 1
            record.last_failure = now
            record.blocked_until = now + _backoff(record.failures, free, cap)
            self._put(table, key, record)

    def succeeded(self, account: str, address: str, now: float) -> None:
        self._addresses.pop(address, None)
        record = self._get(self._accounts, account, now)
        record.failures, record.blocked_until = 0, 0.0
        if address in record.good_addresses:
            record.good_addresses.remove(address)
        record.good_addresses.append(address)
        del record.good_addresses[:-KNOWN_ADDRESSES_PER_ACCOUNT]
        self._put(self._accounts, account, record)

    def _get(self, table: OrderedDict[str, _Record], key: str, now: float) -> _Record:
        record = table.get(key)
        if record is None:
            return _Record()
        expired = now - record.last_failure > self.policy.forget_after_s
        if record.failures and expired and now >= record.blocked_until:
            record.failures, record.blocked_until = 0, 0.0
        return record

    def _put(self, table: OrderedDict[str, _Record], key: str, record: _Record) -> None:
        table[key] = record
        table.move_to_end(key)
        while len(table) > self.policy.max_tracked:
            table.popitem(last=False)
