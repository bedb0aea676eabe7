"""Sign-in throttling policy: backoff per address and per account, resets, exemptions."""

from __future__ import annotations

from server.domain.signin_throttle import SigninThrottle, ThrottlePolicy

T0 = 1_000.0
TEACHER = "teacher@school.org"


def fail_until_blocked(throttle: SigninThrottle, account: str, address: str, now: float) -> int:
    """Fail sign-ins at ``now`` until the next would have to wait; how many got through."""
    count = 0
    while throttle.wait(account, address, now) == 0 and count < 1000:
        throttle.failed(account, address, now)
        count += 1
    return count


def test_address_backoff_doubles_after_the_free_failures_and_is_capped() -> None:
    throttle = SigninThrottle(ThrottlePolicy(address_free=5, address_max_block_s=300))
    now = T0
    waits = []
    for _ in range(5 + 12):
        assert throttle.wait(TEACHER, "a", now) == 0
        throttle.failed(TEACHER, "a", now)
        waits.append(throttle.wait(TEACHER, "a", now))
        now += waits[-1]  # the attacker waits exactly as long as told
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert waits[5:11] == [1, 2, 4, 8, 16, 32]
    assert max(waits) == 300 and waits[-1] == 300


def test_thirty_quick_failures_get_only_six_checks() -> None:
    throttle = SigninThrottle()
    assert fail_until_blocked(throttle, TEACHER, "attacker", T0) == 6
    assert throttle.wait(TEACHER, "attacker", T0 + 0.5) == 0.5


def test_success_from_an_address_resets_it() -> None:
    throttle = SigninThrottle(ThrottlePolicy(address_free=2))
    fail_until_blocked(throttle, TEACHER, "a", T0)
    wait = throttle.wait(TEACHER, "a", T0)
    assert wait > 0
    throttle.succeeded(TEACHER, "a", T0 + wait)
    assert fail_until_blocked(throttle, TEACHER, "a", T0 + wait) == 3


def test_counts_are_forgotten_after_a_quiet_while() -> None:
    throttle = SigninThrottle(ThrottlePolicy(address_free=2, forget_after_s=900))
    fail_until_blocked(throttle, TEACHER, "a", T0)
    assert fail_until_blocked(throttle, TEACHER, "a", T0 + 901) == 3


def test_an_attacker_cannot_lock_the_teacher_out_for_long() -> None:
    """One attacker address tries the teacher's account whenever it may, for two hours."""
    policy = ThrottlePolicy()
    throttle = SigninThrottle(policy)
    throttle.succeeded(TEACHER, "teacher-laptop", T0 - 86_400)  # signed in yesterday
    now = T0
    worst_new_device = 0.0
    guesses = 0
    while now < T0 + 7200:
        wait = throttle.wait(TEACHER, "attacker", now)
        if wait == 0:
            throttle.failed(TEACHER, "attacker", now)
            guesses += 1
        assert throttle.wait(TEACHER, "teacher-laptop", now) == 0  # known address: never
        worst_new_device = max(worst_new_device, throttle.wait(TEACHER, "teacher-phone", now))
        now += max(wait, 1.0)
    assert worst_new_device <= policy.account_max_block_s
    assert guesses < 40  # about one guess per 5 minutes once past the free ones


def test_many_addresses_past_the_account_limit_block_the_account_briefly() -> None:
    policy = ThrottlePolicy(account_free=20, account_max_block_s=60)
    throttle = SigninThrottle(policy)
    for i in range(20):
        throttle.failed(TEACHER, f"bot-{i}", T0)
    assert throttle.wait(TEACHER, "bot-99", T0) == 0
    throttle.failed(TEACHER, "bot-20", T0)
    assert throttle.wait(TEACHER, "bot-99", T0) == 1
    assert throttle.wait("other@school.org", "bot-99", T0) == 0  # other accounts unaffected
    for i in range(30):
        throttle.failed(TEACHER, f"bot-{21 + i}", T0)
    assert throttle.wait(TEACHER, "bot-99", T0) == 60
    throttle.succeeded(TEACHER, "teacher-laptop", T0 + 60)
    assert throttle.wait(TEACHER, "bot-99", T0 + 60) == 0


def test_memory_is_bounded() -> None:
    throttle = SigninThrottle(ThrottlePolicy(max_tracked=100))
    for i in range(1000):
        throttle.failed(f"user-{i}@x.org", f"10.0.{i // 256}.{i % 256}", T0)
    assert len(throttle._addresses) == 100 and len(throttle._accounts) == 100
