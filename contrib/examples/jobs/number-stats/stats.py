"""number-stats: an apphub job (runtime python).

Parameters: numbers (a non-empty array of numbers) and optionally precision
(the decimal places the results are rounded to; default 6).
Result: {count, mean, median, stdev, min, max}; stdev is the sample standard
deviation, null for a single number.  The harness gives the context; see
apphub-jobs(1), HANDLERS.
"""
import statistics


def handler(context):
    numbers = context.parameters["numbers"]
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
