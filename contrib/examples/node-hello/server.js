'use strict';

// A dependency-free HTTP server: GET / says hello, GET /healthz says ok.
const http = require('http');

const port = Number(process.env.PORT) || 3000;
const host = process.env.HOST || '0.0.0.0';

const server = http.createServer((req, res) => {
	const url = new URL(req.url, 'http://localhost');
	if (req.method !== 'GET' && req.method !== 'HEAD') {
		res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
		res.end('method not allowed\n');
		return;
	}
	if (url.pathname === '/healthz') {
		res.writeHead(200, { 'Content-Type': 'text/plain' });
		res.end('ok\n');
		return;
	}
	if (url.pathname === '/') {
		const name = url.searchParams.get('name') || 'world';
		res.writeHead(200, { 'Content-Type': 'application/json' });
		res.end(JSON.stringify({ message: `hello, ${name}`, node: process.version }) + '\n');
		return;
	}
	res.writeHead(404, { 'Content-Type': 'text/plain' });
	res.end('not found\n');
});

server.listen(port, host, () => {
	console.log(`node-hello listening on http://${host}:${port}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
	process.on(sig, () => server.close(() => process.exit(0)));
}
