"""Which packets of a camera the hub decodes for analytics, and which pictures it hands on.

Analytics wants one picture per sample period (1 s by default), not every frame. An H.264
picture can only be decoded from its keyframe on, so the cheapest plan is: decode the
keyframe, keep decoding only while a sample is due before the next keyframe, and skip
the packets after the last such sample (they are never handed to the decoder). The next
keyframe is expected one keyframe interval (the last one seen) after the previous.

- GOP ≤ sample period (a keyframe every second, 1 sample/s): only keyframes are decoded.
- GOP 2 s at 1 sample/s: the keyframe and the frames up to the sample about a second
  later; the second half of the GOP is skipped.

A sample may come ``slack`` of a period early (so keyframes that arrive a little early
still count) and, when that lands it on a keyframe, up to ``keyframe_wait`` of a period
late; samples stay on a grid of one per period on average. Until a keyframe interval has
been seen, and while a transcoding viewer needs every frame anyway, nothing is skipped.
A camera whose keyframes come later than expected loses the samples in between (nothing
decodes without its keyframe); its new interval is used from then on.

Times are the stream's own (packet timestamps in seconds), so the plan is the same
whatever the pace at which packets arrive.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SamplePlan:
    """One camera's decoding plan for samples every ``period`` seconds (the puller thread)."""

    period: float
    slack: float = 0.25
    """Share of a period a sample may come before it is due."""
    keyframe_wait: float = 0.5
    """Share of a period a sample may come late when it then falls on a keyframe."""
    skip: bool = True
    """Skip packets no sample needs (False: decode every frame, hand on the sampled)."""
    next_due: float | None = None
    keyframe_at: float | None = None
    keyframe_interval: float | None = None
    waiting: bool = False
    """The next sample is to be the next keyframe (the frames before it are not needed)."""
    decoded: int = 0
    skipped: int = 0
    samples: int = 0

    def wants(self, keyframe: bool, at: float) -> bool:
        """Whether the packet at stream time ``at`` must go to the decoder."""
        if self.keyframe_at is not None and at < self.keyframe_at - self.period:
            self.restart()  # the stream's clock went back (RTP timestamps wrapped, a seek)
        if keyframe:
            if self.keyframe_at is not None and at > self.keyframe_at:
                self.keyframe_interval = at - self.keyframe_at
            self.keyframe_at = at
            self.waiting = False
        if self.waiting and self.skip:
            self.skipped += 1
            return False
        self.decoded += 1
        return True

    def take(self, at: float, keyframe: bool) -> bool:
        """Whether the picture at stream time ``at`` is a sample (then it is counted).

        While keyframes come no more often than samples, every keyframe is a sample and
        puts the grid on itself, so that a camera whose GOP is about the sample period
        ends up sampled on its keyframes alone.
        """
        due = self.next_due
        # keyframes no more often than samples: every one is a sample, early or not
        by_keyframe = keyframe and (
            self.keyframe_interval is not None
            and self.keyframe_interval >= (1 - self.slack) * self.period
        )
        sample = (
            by_keyframe
            or due is None
            or (at >= due - self.slack * self.period and not self.waiting)
        )
        if sample:
            if due is None or by_keyframe or at - due >= self.period:
                due = at  # the first sample, a keyframe or one after a gap: the grid starts
            self.next_due = due + self.period
            self.samples += 1
        if sample or keyframe:
            self.waiting = self._next_sample_on_keyframe()
        return sample

    def _next_sample_on_keyframe(self) -> bool:
        if self.keyframe_at is None or self.keyframe_interval is None or self.next_due is None:
            return False
        expected = self.keyframe_at + self.keyframe_interval
        return expected <= self.next_due + self.keyframe_wait * self.period

    def restart(self) -> None:
        """Forget the stream's timing (it was reopened or its clock jumped)."""
        self.next_due = self.keyframe_at = self.keyframe_interval = None
        self.waiting = False
