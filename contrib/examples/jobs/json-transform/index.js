// json-transform: an apphub job (runtime node).
//
// Parameters: records (an array of objects), and optionally fields (the
// keys to keep, in that order; default all), rename ({from: to}), sortBy (a
// key, after renaming) and order ("asc", the default, or "desc").
// Result: {count, records}.  The harness gives the context; see
// apphub-jobs(1), HANDLERS.
'use strict';

function compare(a, b) {
	if (a === b)
		return 0;
	if (a === undefined || a === null)
		return 1;	// missing values last, either order
	if (b === undefined || b === null)
		return -1;
	if (typeof a === 'number' && typeof b === 'number')
		return a - b;
	return String(a) < String(b) ? -1 : 1;
}

function transform(record, fields, rename) {
	const out = {};
	for (const key of fields || Object.keys(record)) {
		if (!Object.prototype.hasOwnProperty.call(record, key))
			continue;
		const to = Object.prototype.hasOwnProperty.call(rename, key) ? rename[key] : key;
		out[String(to)] = record[key];
	}
	return out;
}

module.exports = async function handler(context) {
	const p = context.parameters;
	const rename = p.rename || {};
	const records = p.records.map((r) => transform(r, p.fields, rename));

	if (p.sortBy !== undefined) {
		const sign = p.order === 'desc' ? -1 : 1;
		const key = p.sortBy;
		// sort is stable: equal keys keep their input order
		records.sort((a, b) => {
			const c = compare(a[key], b[key]);
			return a[key] == null || b[key] == null ? c : sign * c;
		});
	}
	context.logger(`transformed ${records.length} records`);
	context.update({ metrics: { records: records.length } });
	return { count: records.length, records };
};
