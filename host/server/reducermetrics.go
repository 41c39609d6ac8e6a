package server

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onexhost/onex-host/host/reducer"
)

// reducerTelemetry holds the reducer nodes' metrics, in the server's registry. Counts are
// observed by the handlers and the intent dispatcher; the outbox and dead-letter gauges
// are read from the store at each scrape.
type reducerTelemetry struct {
	events       *prometheus.CounterVec
	applySeconds *prometheus.HistogramVec
	intents      *prometheus.CounterVec
}

var (
	descIntentsPending = prometheus.NewDesc("onex_reducer_intents_pending",
		"Intents in the reducer outbox not yet carried out, by reducer node.", []string{"node"}, nil)
	descDeadLetters = prometheus.NewDesc("onex_reducer_dead_letters",
		"Events whose fold failed and that were not retried successfully, by reducer node.", []string{"node"}, nil)
	descFailedIntents = prometheus.NewDesc("onex_reducer_failed_intents",
		"Intents their effect refused for good (moved out of the outbox), by reducer node.", []string{"node"}, nil)
)

func newReducerTelemetry(s *Server, reg *prometheus.Registry) *reducerTelemetry {
	t := &reducerTelemetry{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onex_reducer_events_total",
			Help: "Events offered to reducer nodes, by node and outcome: applied, duplicate (an event id applied before; nothing changed), fold_failed (state unchanged, a dead letter) or error (not applied: canceled, closed, storage).",
		}, []string{"node", "outcome"}),
		applySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onex_reducer_apply_duration_seconds",
			Help:    "Wall time of applying one event, waiting for its key and the commit included, by reducer node.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 4, 10),
		}, []string{"node"}),
		intents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onex_reducer_intents_total",
			Help: "Attempts to carry out reducer intents, by reducer node and outcome: carried (done) or failed (kept pending, tried again).",
		}, []string{"node", "outcome"}),
	}
	reg.MustRegister(t.events, t.applySeconds, t.intents, &reducerCollector{s: s})
	return t
}

// observe counts one Apply or Retry that took d.
func (t *reducerTelemetry) observe(node string, d time.Duration, res reducer.Result, err error) {
	outcome := "applied"
	switch {
	case errors.Is(err, reducer.ErrFold):
		outcome = "fold_failed"
	case err != nil:
		outcome = "error"
	case res.Duplicate:
		outcome = "duplicate"
	}
	t.events.WithLabelValues(node, outcome).Inc()
	t.applySeconds.WithLabelValues(node).Observe(d.Seconds())
}

// reducerCollector reads the outbox and dead-letter gauges from the store at scrape.
type reducerCollector struct{ s *Server }

func (c *reducerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descIntentsPending
	ch <- descDeadLetters
	ch <- descFailedIntents
}

func (c *reducerCollector) Collect(ch chan<- prometheus.Metric) {
	if rc := c.s.opts.ReducerCluster; rc != nil {
		c.collectCluster(ch, rc)
		return
	}
	st := c.s.opts.Reducers
	if st == nil {
		return
	}
	pending, failed := map[string]int{}, map[string]int{}
	for _, n := range *c.s.nodes.Load() {
		if n.reducer == nil {
			continue
		}
		pending[n.name], failed[n.name] = 0, 0
		if ds, err := st.DeadLetters(n.name); err == nil {
			ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.GaugeValue, float64(len(ds)), n.name)
		}
	}
	if fs, err := st.FailedIntents(""); err == nil {
		for _, f := range fs {
			failed[f.Entry.Reducer]++
		}
		for node, v := range failed {
			ch <- prometheus.MustNewConstMetric(descFailedIntents, prometheus.GaugeValue, float64(v), node)
		}
	}
	es, err := st.Pending(0)
	if err != nil {
		return
	}
	for _, e := range es {
		pending[e.Reducer]++
	}
	for node, v := range pending {
		ch <- prometheus.MustNewConstMetric(descIntentsPending, prometheus.GaugeValue, float64(v), node)
	}
}

// clusterScrapeTimeout bounds the reads of one scrape from the cluster's buckets.
const clusterScrapeTimeout = 5 * time.Second

// collectCluster reads the gauges from the cluster (Options.ReducerCluster): the dead
// letters and failed intents are the cluster's counts, read from its buckets, the same
// on every host (aggregate with max); the intents pending are those of the keys this
// host owns (aggregate with sum), from its memory. A node whose lists cannot be read in
// time is left out of that gauge's scrape.
func (c *reducerCollector) collectCluster(ch chan<- prometheus.Metric, rc ReducerCluster) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterScrapeTimeout)
	defer cancel()
	pending := rc.PendingIntents()
	for _, n := range *c.s.nodes.Load() {
		if n.reducer == nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descIntentsPending, prometheus.GaugeValue, float64(pending[n.name]), n.name)
		if ds, err := rc.DeadLetters(ctx, n.name); err == nil {
			ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.GaugeValue, float64(len(ds)), n.name)
		}
		if fs, err := rc.FailedIntents(ctx, n.name); err == nil {
			ch <- prometheus.MustNewConstMetric(descFailedIntents, prometheus.GaugeValue, float64(len(fs)), n.name)
		}
	}
}
