// Reads Parquet files that apphub wrote with another reader, DuckDB's Node
// package (@duckdb/node-api, installed in t/web by make deps), and prints
// what it finds as one JSON object (t/7500-timestore-reader.bats):
//
//   node t/helper/read-parquet.mjs FILE...
//   {"rows": N, "columns": [{"name", "type"}], "values": [{...}], "compression": [...]}
//
// Files are read together by column name (older files may lack newer
// columns); timestamps are given as epoch microseconds, BIGINTs as numbers.
// Exit 3 when the package is not installed, so that a test can skip.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const files = process.argv.slice(2);
if (!files.length) {
	console.error('usage: read-parquet.mjs FILE...');
	process.exit(2);
}

let api;
try {
	const require = createRequire(new URL('../web/package.json', import.meta.url));
	api = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
} catch (e) {
	console.error(`read-parquet: @duckdb/node-api is not installed (make deps): ${e.message}`);
	process.exit(3);
}

// A test's own file names, quoted as SQL string literals.
const list = '[' + files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ') + ']';
const instance = await api.DuckDBInstance.create(':memory:');
const conn = await instance.connect();

const data = await conn.runAndReadAll(`SELECT * FROM read_parquet(${list}, union_by_name = true)`);
const names = data.columnNames();
const types = data.columnTypes().map((t) => t.toString());
const plain = (v) => {
	if (v === null || v === undefined)
		return null;
	if (typeof v === 'bigint')
		return Number(v);
	if (v instanceof api.DuckDBTimestampValue)
		return Number(v.micros);
	if (typeof v === 'object' && 'toString' in v)
		return v.toString();
	return v;
};
const values = data.getRows().map((row) =>
	Object.fromEntries(row.map((v, i) => [names[i], plain(v)])));

const meta = await conn.runAndReadAll(
	`SELECT DISTINCT compression FROM parquet_metadata(${list}) ORDER BY 1`);
const compression = meta.getRows().map((r) => String(r[0]));

console.log(JSON.stringify({
	rows: values.length,
	columns: names.map((name, i) => ({ name, type: types[i] })),
	values,
	compression,
}));
conn.closeSync?.();
instance.closeSync?.();
