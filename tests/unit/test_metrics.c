/*
 * test_metrics.c — common/metrics.c: counts from several processes add
 * up exactly, histograms are cumulative with a sum and a count, a series
 * handle counts as its labels do, label values are escaped, over-long
 * label sets are not counted.
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/buffer.h>

#include "common/metrics.h"

enum { TM_HITS, TM_LAT, TM_N };

static const double tm_buckets[] = { 0.1, 1 };

static const struct metric_family tm_fams[TM_N] = {
	{ "t_hits_total", METRIC_COUNTER, "Hits", NULL, 0 },
	{ "t_latency_seconds", METRIC_HISTOGRAM, "Latency", tm_buckets, 2 },
};

static char *
render(void)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 n;
	char		*s;

	metrics_render(b);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static int
setup(void **state)
{
	(void)state;
	metrics_register(tm_fams, TM_N);
	return metrics_map();
}

static void
test_processes_add_up(void **state)
{
	char	*s;
	int	 i, k, st;
	pid_t	 pids[4];

	(void)state;
	for (k = 0; k < 4; k++) {
		if ((pids[k] = fork()) == 0) {
			for (i = 0; i < 20000; i++) {
				metrics_add(TM_HITS, "port=\"a\"", 1);
				metrics_add(TM_HITS, i % 2 ? "port=\"b\"" :
				    "port=\"c\"", 1);
			}
			_exit(0);
		}
		assert_true(pids[k] > 0);
	}
	for (k = 0; k < 4; k++) {
		assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
		assert_int_equal(st, 0);
	}
	s = render();
	assert_non_null(strstr(s, "# TYPE t_hits_total counter\n"));
	assert_non_null(strstr(s, "t_hits_total{port=\"a\"} 80000\n"));
	assert_non_null(strstr(s, "t_hits_total{port=\"b\"} 40000\n"));
	assert_non_null(strstr(s, "t_hits_total{port=\"c\"} 40000\n"));
	/* One line per series, even if two processes claimed it at once. */
	assert_int_equal(strstr(strstr(s, "t_hits_total{port=\"a\"}") + 1,
	    "t_hits_total{port=\"a\"}") == NULL, 1);
	free(s);
}

static void
test_histogram(void **state)
{
	char	*s;

	(void)state;
	metrics_observe(TM_LAT, "", 0.05);
	metrics_observe(TM_LAT, "", 0.5);
	metrics_observe(TM_LAT, "", 0.5);
	metrics_observe(TM_LAT, "", 7);
	s = render();
	assert_non_null(strstr(s, "# TYPE t_latency_seconds histogram\n"));
	assert_non_null(strstr(s, "t_latency_seconds_bucket{le=\"0.1\"} 1\n"));
	assert_non_null(strstr(s, "t_latency_seconds_bucket{le=\"1\"} 3\n"));
	assert_non_null(strstr(s, "t_latency_seconds_bucket{le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(s, "t_latency_seconds_sum 8.050000\n"));
	assert_non_null(strstr(s, "t_latency_seconds_count 4\n"));
	free(s);
}

/*
 * A series resolved once counts as the same labels looked up each time;
 * kept for later without an event loop to flush it, an observation is
 * added at once rather than lost.
 */
static void
test_series_handle(void **state)
{
	struct metric_series	*ms;
	char			*s;

	(void)state;
	assert_null(metrics_series_get(TM_HITS, ""));	/* not a histogram */
	ms = metrics_series_get(TM_LAT, "port=\"h\"");
	assert_non_null(ms);
	assert_ptr_equal(ms, metrics_series_get(TM_LAT, "port=\"h\""));
	metrics_observe_series(ms, 0.05);
	metrics_observe(TM_LAT, "port=\"h\"", 0.5);
	metrics_observe_later(ms, 3);
	metrics_flush();
	s = render();
	assert_non_null(strstr(s,
	    "t_latency_seconds_bucket{port=\"h\",le=\"0.1\"} 1\n"));
	assert_non_null(strstr(s,
	    "t_latency_seconds_bucket{port=\"h\",le=\"1\"} 2\n"));
	assert_non_null(strstr(s,
	    "t_latency_seconds_bucket{port=\"h\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(s, "t_latency_seconds_count{port=\"h\"} 3\n"));
	free(s);
}

static void
test_labels(void **state)
{
	char	 buf[64], big[500], *s;

	(void)state;
	assert_string_equal(metrics_label("a\"b\\c\nd", buf, sizeof(buf)),
	    "a\\\"b\\\\c\\nd");
	/* Cut whole: never half an escape. */
	assert_string_equal(metrics_label("\"\"\"", buf, 6), "\\\"\\\"");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "k=\"", 3);
	big[sizeof(big) - 2] = '"';
	metrics_add(TM_HITS, big, 1);
	s = render();
	assert_null(strstr(s, "xxxxxxxx"));
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_processes_add_up),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_series_handle),
		cmocka_unit_test(test_labels),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
