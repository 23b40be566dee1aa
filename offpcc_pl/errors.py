"""User-facing errors: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable


class ConfigError(ValueError):
    """A bad input (id, option, value, file) that the user can fix."""


class CheckpointError(ConfigError):
    """A checkpoint that can't be used here: corrupt, unexpected content, or another run's."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN/inf; the last good checkpoint is kept."""


class CheckpointWriteFailed(RuntimeError):
    """Writing a checkpoint failed (disk full, ...); the previous file is left intact."""


class Interrupted(Exception):
    """SIGINT / SIGTERM during fit: ``last.ckpt`` was saved, the process exits 128 + signum."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


def find_cause(
    err: BaseException | None, match: Callable[[BaseException], bool]
) -> BaseException | None:
    """The first error in ``err``'s chain (itself, then what it was raised from or during)
    that ``match`` accepts: jsonargparse, Lightning and W&B wrap what they call into."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if match(err):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


WANDB_REFUSALS = ("CommError", "AuthenticationError", "UsageError")


def wandb_refusal(err: BaseException) -> bool:
    """Whether W&B refused to start the run (a rejected key, an unknown entity or project):
    the user's setup, not a failure of the run, which has not trained a step yet."""
    kind = type(err)
    return kind.__module__.startswith("wandb.") and kind.__name__ in WANDB_REFUSALS


def close_matches(value: str, allowed: Iterable[str], n: int = 3) -> str:
    """``" (did you mean: a, b?)"`` for the closest allowed values, or ``""``."""
    matches = difflib.get_close_matches(value, list(allowed), n=n, cutoff=0.6)
    return f" (did you mean: {', '.join(matches)}?)" if matches else ""


# -- jsonargparse's messages, read as one plain line ------------------------------------------

_KEY = re.compile(r'Parser key "([^"]+)"')
_CLASS_PATH = re.compile(r"Problem with given class_path '([\w.]+)': ")
_NONE_BRANCH = " - Expected a <class 'NoneType'> Given value type: <class 'jsonargparse"
_END = r"(?= - Expected| - Problem|$)"
_OPTION = re.compile(r"Option '([^']+)' is not accepted")
_RESTRICTION = re.compile(r"Not of type (\w+): (.*?) does not conform to restriction (.+?)" + _END)
_EXPECTED = re.compile(
    r"Expected a (typing\.Literal\[.*?\]|<class '[\w.]+'>)\. Got value: (.*?)" + _END
)
_UNION = re.compile(r"Subtypes: \[(.*)\] Errors: .*?Given value: (.*?)" + _END)
_TYPE = re.compile(r"typing\.Literal\[(.*?)\]|<class '(?:[\w]+\.)*(\w+)'>")


def _types(text: str) -> str:
    """``typing.Literal['a', 'b'], <class 'NoneType'>`` -> ``'a', 'b' or None``."""
    names = [lit or ("None" if cls == "NoneType" else cls) for lit, cls in _TYPE.findall(text)]
    return " or ".join(", ".join(names).rsplit(", ", 1)) if names else text


def parser_message(message: str, options: Callable[[str], list[str]] | None = None) -> str:
    """One plain line for a jsonargparse error: the flag, the bad value, what is allowed.

    ``Parser key "model": Does not validate against any of the Union subtypes ... Problem with
    given class_path 'offpcc_pl.algorithms.SAC': Parser key "lr": Not of type PositiveFloat:
    -1 does not conform to restriction v>0 - Expected a <class 'NoneType'> ...`` becomes
    ``--model.lr: -1 is not allowed (PositiveFloat: v>0)``. ``options(class_path)`` lists a
    class's options, for "did you mean". Messages of other shapes come back unchanged.
    """
    text = " ".join(message.split())
    keys = _KEY.findall(text)
    algorithm = _CLASS_PATH.search(text)
    if algorithm:  # the outer union's other branch (None) only repeats the value
        text = text[algorithm.end() :].split(_NONE_BRANCH, 1)[0]
    flag = "--" + ".".join(keys[:1] + _KEY.findall(text) if algorithm else keys[-1:])
    if algorithm and (option := _OPTION.search(text)):
        name, cls = option.group(1), algorithm.group(1)
        short = cls.rsplit(".", 1)[-1]
        hint = close_matches(name, options(cls)) if options else ""
        return (
            f"--{keys[0]}.{name}: {short} has no option '{name}'{hint} "
            f"(offpcc-pl fit --{keys[0]}.help {short} lists them)"
        )
    if not keys:
        return text
    if found := _RESTRICTION.search(text):
        kind, value, rule = found.groups()
        return f"{flag}: {value} is not allowed ({kind}: {rule})"
    if found := _EXPECTED.search(text) or _UNION.search(text):
        return f"{flag}: '{found.group(2)}' is not allowed (expected {_types(found.group(1))})"
    return text
