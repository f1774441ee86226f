"""number-stats: an apphub job (runtime python).

Parameters: numbers (a non-empty array of numbers) and optionally precision
(the decimal places the results are rounded to; default 6) and field: when
numbers holds objects, the dotted path of the number in each ("output.words"
picks the word counts out of a workflow fan-out's results).
Result: {count, mean, median, stdev, min, max}; stdev is the sample standard
deviation, null for a single number.  The harness gives the context; see
apphub-jobs(1), HANDLERS.
"""
import statistics


def pick(item, index, field):
    """The number at the dotted path field of item (the item itself without one)."""
    value = item
    if field:
        for name in field.split("."):
            if not isinstance(value, dict) or name not in value:
                raise ValueError(f"numbers[{index}] has no field '{field}'")
            value = value[name]
    # bool is an int in Python, but not a number here
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"numbers[{index}] is not a number: {value!r}")
    return value


def handler(context):
    field = context.parameters.get("field")
    numbers = [pick(x, i, field) for i, x in enumerate(context.parameters["numbers"])]
    places = context.parameters.get("precision", 6)
    if not numbers:
        # an exception fails the run, with its message in the log
        raise ValueError("numbers is empty: nothing to compute")

    def r(x):
        return round(x, places)

    result = {
        "count": len(numbers),
        "mean": r(statistics.fmean(numbers)),
        "median": r(statistics.median(numbers)),
        "stdev": r(statistics.stdev(numbers)) if len(numbers) > 1 else None,
        "min": min(numbers),
        "max": max(numbers),
    }
    context.logger("computed statistics", {"count": len(numbers)})
    context.update(metrics={"count": len(numbers)})
    return result
