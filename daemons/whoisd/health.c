/*
 * health.c — GET /healthz and GET /readyz on the front's HTTP port, for
 * load balancers and orchestrators.
 *
 * /healthz says the process serves (an answer at all is the proof).
 * /readyz says it can answer names: 503 while this child's link to
 * whoisd-cache or whoisd-query is down, or without the registries file's
 * suffixes; the body says which.  A balancer probes one child per check,
 * and each child has its own links, which is what a request would meet.
 */
#include <stdio.h>

#include <event2/buffer.h>

#include "common/suffix.h"
#include "daemons/whoisd/whoisd.h"
#include "proto/client.h"

int
health_live(struct evbuffer *b)
{
	evbuffer_add_printf(b, "{\"status\":\"ok\"}\n");
	return 200;
}

int
health_ready(struct evbuffer *b)
{
	struct client_stats	cs, qs;
	int			regs;

	client_stats(front_cache(), &cs);
	client_stats(front_query(), &qs);
	regs = front_suffixes() != NULL;
	evbuffer_add_printf(b, "{\"status\":\"%s\",\"cache\":%s,\"query\":%s,"
	    "\"registries\":%s}\n",
	    cs.cs_connected && qs.cs_connected && regs ? "ready" : "not ready",
	    cs.cs_connected ? "true" : "false",
	    qs.cs_connected ? "true" : "false", regs ? "true" : "false");
	return cs.cs_connected && qs.cs_connected && regs ? 200 : 503;
}
