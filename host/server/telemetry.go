package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/onexhost/onex-host/host/internal/breaker"
)

// NewRegistry returns a Prometheus registry with the Go runtime collector (goroutines,
// heap, GC, scheduler latencies: go_*) and the process collector (open and maximum file
// descriptors, resident memory, CPU seconds: process_*; on Linux) registered, so that a
// goroutine or file-descriptor leak shows on /metrics. The server's own metrics are
// added by New.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler, collectors.MetricsGC)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// telemetry holds the server's Prometheus metrics. Call-level metrics are observed by the
// handlers; host-level ones (cache, breakers, pools, transactions, events) are read from
// the host at each scrape by hostCollector.
type telemetry struct {
	calls        *prometheus.CounterVec
	fuel         *prometheus.CounterVec
	callSeconds  *prometheus.HistogramVec
	batchSeconds *prometheus.HistogramVec
	reloads      *prometheus.CounterVec
}

func newTelemetry(s *Server, reg *prometheus.Registry) *telemetry {
	t := &telemetry{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onex_calls_total",
			Help: "Computations and effects run, by node, operation, kind (compute or effect) and outcome (ok, or the error code).",
		}, []string{"node", "operation", "kind", "outcome"}),
		fuel: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onex_fuel_used_total",
			Help: "Metered guest work (about one unit per Wasm instruction), by node, operation and kind.",
		}, []string{"node", "operation", "kind"}),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onex_call_duration_seconds",
			Help:    "Wall time of single computations and effects, retries included, by node, operation and kind.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 4, 10), // 50 µs to ~13 s
		}, []string{"node", "operation", "kind"}),
		batchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onex_batch_duration_seconds",
			Help:    "Wall time of whole batches, by node.",
			Buckets: prometheus.ExponentialBuckets(1e-3, 4, 10),
		}, []string{"node"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onex_reloads_total",
			Help: "Successful hot reloads, by node.",
		}, []string{"node"}),
	}
	reg.MustRegister(t.calls, t.fuel, t.callSeconds, t.batchSeconds, t.reloads, &hostCollector{s: s})
	return t
}

// observe counts one call and the fuel it used; d of 0 (a batch item) skips the latency
// histogram.
func (t *telemetry) observe(node, operation, kind string, d time.Duration, fuel uint64, err error) {
	if fuel > 0 {
		t.fuel.WithLabelValues(node, operation, kind).Add(float64(fuel))
	}
	outcome := "ok"
	if err != nil {
		_, body := classify(err)
		outcome = body.Code
	}
	t.calls.WithLabelValues(node, operation, kind, outcome).Inc()
	if d > 0 {
		t.callSeconds.WithLabelValues(node, operation, kind).Observe(d.Seconds())
	}
}

var (
	descCache = prometheus.NewDesc("onex_cache_requests_total",
		"Compute cache lookups, by result: hit (held here), shared_hit (held by the shared level), joined (waited for a computation another call started) or miss (the guest ran).",
		[]string{"result"}, nil)
	descCacheEntries = prometheus.NewDesc("onex_cache_entries",
		"Results held by the compute cache.", nil, nil)
	descBreaker = prometheus.NewDesc("onex_breaker_state",
		"Circuit breaker state by service: 0 closed, 1 half-open, 2 open.", []string{"service"}, nil)
	descBreakerRejected = prometheus.NewDesc("onex_breaker_rejected_total",
		"Calls an open or saturated breaker refused, by service.", []string{"service"}, nil)
	descBreakerCalls = prometheus.NewDesc("onex_breaker_calls_total",
		"Calls asked of a circuit breaker, by service and outcome: success, failure, rejected, late (not judged: the breaker changed state while it ran) or canceled; each finished call in exactly one.",
		[]string{"service", "outcome"}, nil)
	descPool = prometheus.NewDesc("onex_pool_instances",
		"Live plugin instances by node and state (idle or in_use).", []string{"node", "state"}, nil)
	descPoolWaiting = prometheus.NewDesc("onex_pool_waiting",
		"Callers waiting for an instance, by node.", []string{"node"}, nil)
	descPoolCreated = prometheus.NewDesc("onex_pool_created_total",
		"Plugin instances created, by node and source (module: initialised by _initialize; snapshot: from a pre-initialized snapshot).", []string{"node", "source"}, nil)
	descTx = prometheus.NewDesc("onex_transactions_total",
		"Effect transactions ended, by final state (committed, rolled_back, failed).", []string{"state"}, nil)
	descTxOpen = prometheus.NewDesc("onex_transactions_open",
		"Effect transactions open now.", nil, nil)
	descEvents = prometheus.NewDesc("onex_events_published_total",
		"Events published to the bus.", nil, nil)
	descStuck = prometheus.NewDesc("onex_stuck_calls",
		"Calls still running long after their deadline stopped them (host.Config.StuckGrace), by node; each quarantines its node.",
		[]string{"node"}, nil)
	descStuckTotal = prometheus.NewDesc("onex_stuck_calls_total",
		"Calls that got stuck since the process started, by node, including those that ended after all.",
		[]string{"node"}, nil)
	descRecovered = prometheus.NewDesc("onex_recovered_transactions",
		"What the start-up recovery did with the journal: interrupted transactions rolled_back or failed, committed ones republished.",
		[]string{"outcome"}, nil)
)

// hostCollector reads the host's own counters at scrape time.
type hostCollector struct{ s *Server }

func (c *hostCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCache, descCacheEntries, descBreaker, descBreakerRejected, descBreakerCalls,
		descPool, descPoolWaiting, descPoolCreated, descTx, descTxOpen, descEvents, descRecovered, descStuck, descStuckTotal} {
		ch <- d
	}
}

func (c *hostCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.s.host
	cs := h.CacheStats()
	ch <- prometheus.MustNewConstMetric(descCache, prometheus.CounterValue, float64(cs.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(descCache, prometheus.CounterValue, float64(cs.SharedHits), "shared_hit")
	ch <- prometheus.MustNewConstMetric(descCache, prometheus.CounterValue, float64(cs.Joined), "joined")
	ch <- prometheus.MustNewConstMetric(descCache, prometheus.CounterValue, float64(cs.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(descCacheEntries, prometheus.GaugeValue, float64(cs.ValidEntries))
	for _, b := range h.Breakers() {
		ch <- prometheus.MustNewConstMetric(descBreaker, prometheus.GaugeValue, breakerValue(b.State), b.Service)
		ch <- prometheus.MustNewConstMetric(descBreakerRejected, prometheus.CounterValue, float64(b.Rejected), b.Service)
		for outcome, n := range map[string]uint64{"success": b.Successes, "failure": b.Failures, "rejected": b.Rejected,
			"late": b.Late, "canceled": b.Canceled} {
			ch <- prometheus.MustNewConstMetric(descBreakerCalls, prometheus.CounterValue, float64(n), b.Service, outcome)
		}
	}
	for name, n := range *c.s.nodes.Load() {
		if n.plugin == nil {
			continue // an FSM node: no pool
		}
		ps := n.plugin.Stats()
		ch <- prometheus.MustNewConstMetric(descPool, prometheus.GaugeValue, float64(ps.Idle), name, "idle")
		ch <- prometheus.MustNewConstMetric(descPool, prometheus.GaugeValue, float64(ps.InUse), name, "in_use")
		ch <- prometheus.MustNewConstMetric(descPoolWaiting, prometheus.GaugeValue, float64(ps.Waiting), name)
		ch <- prometheus.MustNewConstMetric(descPoolCreated, prometheus.CounterValue, float64(ps.Created-min(ps.FromSnapshot, ps.Created)), name, "module")
		ch <- prometheus.MustNewConstMetric(descPoolCreated, prometheus.CounterValue, float64(ps.FromSnapshot), name, "snapshot")
	}
	ts := h.TransactionStats()
	ch <- prometheus.MustNewConstMetric(descTx, prometheus.CounterValue, float64(ts.Committed), "committed")
	ch <- prometheus.MustNewConstMetric(descTx, prometheus.CounterValue, float64(ts.RolledBack), "rolled_back")
	ch <- prometheus.MustNewConstMetric(descTx, prometheus.CounterValue, float64(ts.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(descTxOpen, prometheus.GaugeValue, float64(ts.Open))
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(h.Events().Published()))
	stuck, total := map[string]int{}, map[string]int{}
	for _, sc := range h.StuckCalls() {
		total[sc.Plugin]++
		if sc.Ended.IsZero() {
			stuck[sc.Plugin]++
		}
	}
	for name, n := range total {
		ch <- prometheus.MustNewConstMetric(descStuck, prometheus.GaugeValue, float64(stuck[name]), name)
		ch <- prometheus.MustNewConstMetric(descStuckTotal, prometheus.CounterValue, float64(n), name)
	}
	r := h.LastRecovery()
	ch <- prometheus.MustNewConstMetric(descRecovered, prometheus.GaugeValue, float64(r.RolledBack), "rolled_back")
	ch <- prometheus.MustNewConstMetric(descRecovered, prometheus.GaugeValue, float64(r.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(descRecovered, prometheus.GaugeValue, float64(r.Republished), "republished")
}

func breakerValue(s breaker.State) float64 {
	switch s {
	case breaker.StateHalfOpen:
		return 1
	case breaker.StateOpen:
		return 2
	}
	return 0
}
