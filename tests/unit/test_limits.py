"""The token bucket, on a clock the test moves: bursts pass, a flood is refused, time refills it."""

from chat.limits import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_bucket_refuses():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after() == 0.5


def test_time_refills_at_the_rate_and_never_past_the_burst():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    for _ in range(3):
        bucket.take()
    clock.now += 0.5  # one token back
    assert bucket.take() is True
    assert bucket.take() is False
    clock.now += 3600
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
