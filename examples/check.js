// check.js — check names with whoisd's HTTP API, one line per name as
// each verdict arrives (POST /v1/check, streamed NDJSON).
//
// The same checkStream() runs in a browser page (the front must list the
// page's origin in http_cors_origins) and in node 18 or later:
//
//	node examples/check.js http://127.0.0.1:8043 example.com free-name.com
//	node examples/check.js http://127.0.0.1:8043 --suggest acme
//	node examples/check.js http://127.0.0.1:8043 --fresh example.com

"use strict";

// Calls onResult(result) for each name as soon as it is known; resolves
// when all are.  Throws an Error carrying the problem details (.problem)
// when the API refuses the request.
async function checkStream(base, names, onResult, opts = {}) {
	const body = { domains: names };
	if (opts.fresh)
		body.fresh = true;
	if (opts.maxAge !== undefined)
		body.max_age = opts.maxAge;
	const res = await fetch(base + "/v1/check", {
		method: "POST",
		headers: { "Content-Type": "application/json",
		    "Accept": "application/x-ndjson" },
		body: JSON.stringify(body),
	});
	return readLines(res, onResult);
}

// GET /v1/suggest?word=: the word under the TLDs the service suggests.
async function suggestStream(base, word, onResult) {
	const res = await fetch(base + "/v1/suggest?word=" +
	    encodeURIComponent(word),
	    { headers: { "Accept": "application/x-ndjson" } });
	return readLines(res, onResult);
}

async function readLines(res, onResult) {
	if (!res.ok) {
		const p = await res.json();	// application/problem+json
		const e = new Error(p.code + ": " + p.detail);
		e.problem = p;
		e.retryAfter = res.headers.get("Retry-After");
		throw e;
	}
	const reader = res.body.getReader();
	const dec = new TextDecoder();
	let buf = "";
	for (;;) {
		const { done, value } = await reader.read();
		if (done)
			break;
		buf += dec.decode(value, { stream: true });
		let nl;
		while ((nl = buf.indexOf("\n")) >= 0) {
			const line = buf.slice(0, nl);
			buf = buf.slice(nl + 1);
			if (line.length > 0)
				onResult(JSON.parse(line));
		}
	}
	if (buf.trim().length > 0)
		onResult(JSON.parse(buf));
}

function show(r) {
	let s = r.domain + " " + r.status;
	if (r.reason)
		s += " (" + r.reason + ")";
	if (r.source)
		s += " source=" + r.source + " channel=" + r.channel +
		    " checked=" + r.checked + " expires=" + r.expires;
	if (r.retry_after)
		s += " retry_after=" + r.retry_after;
	console.log(s);
}

async function main(argv) {
	if (argv.length < 2) {
		console.error("usage: node check.js BASE [--fresh] NAME... | " +
		    "BASE --suggest WORD");
		return 2;
	}
	const base = argv[0].replace(/\/$/, "");
	try {
		if (argv[1] === "--suggest")
			await suggestStream(base, argv[2], show);
		else if (argv[1] === "--fresh")
			await checkStream(base, argv.slice(2), show,
			    { fresh: true });
		else
			await checkStream(base, argv.slice(1), show);
	} catch (e) {
		console.error("error: " + e.message);
		return 1;
	}
	return 0;
}

if (typeof module !== "undefined" && require.main === module)
	main(process.argv.slice(2)).then((rc) => { process.exitCode = rc; });
else if (typeof module !== "undefined")
	module.exports = { checkStream, suggestStream };
