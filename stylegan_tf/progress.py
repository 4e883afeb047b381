"""Progress for `train`, `prepare`, `metrics` and `generate`: a tqdm bar on a terminal, a plain line every few seconds elsewhere.

A bar redraws itself with carriage returns (`\\r`). A terminal overwrites the line in place, but a log
(CI, `nohup`, a notebook's saved output) keeps every redraw: hundreds of updates in one line. So where
the bar's stream is not a terminal, `progress_bar` returns a `PlainProgress`, which prints an ordinary
line at most every `PLAIN_SECONDS` seconds and one at the end:

    train: 12.340/120.000 kimg (10%), 210.4 img/s, ETA 0h05m12s
    prepare: 1200/10000 img (12%), 55.2 img/s, ETA 0h02m39s

The environment variable STYLEGAN_TF_PROGRESS=bar|lines|off overrides the choice (off: no progress
at all; `train` still prints its tick lines).
"""

import os
import sys
import time

PLAIN_SECONDS = 10.0  # at most one plain line this often
ENV = "STYLEGAN_TF_PROGRESS"
MODES = ("bar", "lines", "off")


def progress_mode(stream=None) -> str:
    """"bar" if `stream` (default stderr) is a terminal, else "lines"; STYLEGAN_TF_PROGRESS overrides it."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in MODES:
        return forced
    try:
        return "bar" if (stream or sys.stderr).isatty() else "lines"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "lines"


def progress_bar(iterable=None, *, total=None, initial=0, desc="", unit="it", file=None, digits=0, **tqdm_kwargs):
    """A tqdm bar, a `PlainProgress` or None (mode "off"), as `progress_mode(file)` says.

    `digits` is how many decimals the plain line gives the count; `tqdm_kwargs` go to the bar only.
    """
    file = file or sys.stderr
    mode = progress_mode(file)
    if mode == "off":
        return None
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if mode == "lines":
        return PlainProgress(iterable, total=total, initial=initial, desc=desc, unit=unit, file=file, digits=digits)
    import tqdm

    return tqdm.tqdm(iterable, total=total, initial=initial, desc=desc or None, unit=unit, file=file, **tqdm_kwargs)


def optional_progress_bar(show=True, **kwargs):
    """`progress_bar(**kwargs)` where `show` is true and the mode is not "off", else a `NullProgress`.

    For callers (the metrics, `generate`) that call `update` and `close` without checking for None.
    """
    return (progress_bar(**kwargs) if show else None) or NullProgress()


class NullProgress:
    """No progress shown: the part of tqdm's interface the callers use, doing nothing."""

    n = 0

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, s="", refresh=True):
        pass

    def refresh(self):
        pass

    def close(self):
        pass


class PlainProgress:
    """The part of tqdm's interface `train` and `prepare` use, printing plain lines instead of redrawing one.

    Args:
        iterable: Optional; iterating over the object yields its items and counts them.
        total, initial: The count at the end and at the start.
        desc, unit: Words of the line (`desc: n/total unit`).
        file: The stream (default stderr).
        digits: Decimals of the count (3 for kimg, 0 for files).
        interval: Seconds between lines (default `PLAIN_SECONDS`).

    The rate and ETA are extrapolated from the count unless `set_postfix_str` gives the text to show.
    """

    def __init__(self, iterable=None, *, total=None, initial=0, desc="", unit="it", file=None, digits=0,
                 interval=None):
        self.iterable, self.total, self.n = iterable, total, initial
        self.desc, self.unit, self.file, self.digits = desc, unit, file or sys.stderr, digits
        self.interval = PLAIN_SECONDS if interval is None else interval
        self.postfix = ""
        self._start = self._last = time.monotonic()
        self._initial = self._printed = initial

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def update(self, n=1):
        self.n += n
        if time.monotonic() - self._last >= self.interval:
            self._print()

    def set_postfix_str(self, s="", refresh=True):
        self.postfix = s

    def refresh(self):
        pass  # lines are printed on `update`'s clock, never on demand

    def write(self, s, file=None):
        print(s, file=file or self.file, flush=True)

    def close(self):
        if self.n != self._printed:
            self._print()

    def line(self) -> str:
        count = f"{self.n:.{self.digits}f}"
        if self.total:
            count += f"/{self.total:.{self.digits}f} {self.unit} ({100.0 * self.n / self.total:.0f}%)"
        else:
            count += f" {self.unit}"
        rate = self.postfix
        if not rate:
            elapsed = time.monotonic() - self._start
            speed = (self.n - self._initial) / elapsed if elapsed > 0 else 0.0
            rate = f"{speed:.1f} {self.unit}/s"
            if self.total and speed > 0 and self.n < self.total:
                rate += f", ETA {_hms((self.total - self.n) / speed)}"
        return f"{self.desc + ': ' if self.desc else ''}{count}, {rate}"

    def _print(self):
        print(self.line(), file=self.file, flush=True)
        self._last, self._printed = time.monotonic(), self.n


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"
