<?php
/*
 * check.php — check names with whoisd's HTTP API from php-cli, with no
 * extension beyond the standard ones (json, zlib; the http stream
 * wrapper, so no php-curl).
 *
 *	php examples/check.php http://127.0.0.1:8043 example.com free-name.com
 *	php examples/check.php http://127.0.0.1:8043 --suggest acme
 *	php examples/check.php http://127.0.0.1:8043 --fresh example.com
 */

/* One request: [status, headers (lower-case name => value), body]. */
function whoisd_request(string $method, string $url, ?array $json = null): array
{
	$headers = "Accept-Encoding: gzip\r\n";
	$opts = ['method' => $method, 'ignore_errors' => true,
	    'timeout' => 30, 'protocol_version' => 1.1];
	if ($json !== null) {
		$opts['content'] = json_encode($json);
		$headers .= "Content-Type: application/json\r\n";
	}
	$opts['header'] = $headers . "Connection: close\r\n";
	$body = @file_get_contents($url, false,
	    stream_context_create(['http' => $opts]));
	if ($body === false)
		throw new RuntimeException("cannot reach $url");
	/* $http_response_header: the status line, then the headers. */
	$status = (int)explode(' ', $http_response_header[0])[1];
	$h = [];
	foreach (array_slice($http_response_header, 1) as $line) {
		$kv = explode(':', $line, 2);
		if (count($kv) == 2)
			$h[strtolower(trim($kv[0]))] = trim($kv[1]);
	}
	if (($h['content-encoding'] ?? '') === 'gzip')
		$body = gzdecode($body);
	return [$status, $h, $body];
}

/* The parsed answer, or a RuntimeException saying the problem's code. */
function whoisd_json(array $r): array
{
	[$status, $h, $body] = $r;
	$j = json_decode($body, true);
	if ($status >= 400) {
		$msg = ($j['code'] ?? 'error') . ': ' . ($j['detail'] ?? $body);
		if (isset($h['retry-after']))
			$msg .= " (retry after {$h['retry-after']} s)";
		throw new RuntimeException($msg, $status);
	}
	return $j;
}

function whoisd_check(string $base, array $names, bool $fresh = false): array
{
	$req = ['domains' => $names];
	if ($fresh)
		$req['fresh'] = true;
	return whoisd_json(whoisd_request('POST', "$base/v1/check",
	    $req))['results'];
}

function whoisd_suggest(string $base, string $word): array
{
	return whoisd_json(whoisd_request('GET', "$base/v1/suggest?word=" .
	    rawurlencode($word)))['results'];
}

function show(array $r): void
{
	$s = "{$r['domain']} {$r['status']}";
	if (!empty($r['reason']))
		$s .= " ({$r['reason']})";
	if (isset($r['source']))
		$s .= " source={$r['source']} channel={$r['channel']}" .
		    " checked={$r['checked']} expires={$r['expires']}";
	if (!empty($r['retry_after']))
		$s .= " retry_after={$r['retry_after']}";
	echo $s, "\n";
}

$args = array_slice($argv, 1);
if (count($args) < 2) {
	fwrite(STDERR, "usage: check.php BASE [--fresh] NAME... | BASE --suggest WORD\n");
	exit(2);
}
$base = rtrim($args[0], '/');
try {
	if ($args[1] === '--suggest')
		$results = whoisd_suggest($base, $args[2]);
	else if ($args[1] === '--fresh')
		$results = whoisd_check($base, array_slice($args, 2), true);
	else
		$results = whoisd_check($base, array_slice($args, 1));
} catch (RuntimeException $e) {
	fwrite(STDERR, "error: " . $e->getMessage() . "\n");
	exit(1);
}
foreach ($results as $r)
	show($r);
