package server

import (
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
)

// status is GET /v1/status: one snapshot of what the status page (/ui) shows, so that the
// page asks once per refresh rather than once per section. Every field is also readable
// elsewhere (/v1/nodes, /v1/breakers, /v1/cache, /metrics, /readyz); the journal is not in
// it (its records hold before-images: the page reads the admin-only /v1/journal).
type status struct {
	Time  time.Time `json:"time"`
	Ready bool      `json:"ready"`
	// Role is the role of the request's token: "admin", "invoke", or "admin" when auth is
	// off (Auth false), so that the page offers the admin actions only when they work.
	Role string `json:"role"`
	Auth bool   `json:"auth"`

	Nodes    []nodeStatus  `json:"nodes"`
	Breakers []breakerInfo `json:"breakers"`
	Cache    cacheStatus   `json:"cache"`
	Effects  effectStatus  `json:"effects"`
	// Quarantine is /readyz's quarantine body while a node is quarantined, else absent.
	Quarantine *quarantined `json:"quarantine,omitempty"`
	// Features names the optional endpoints the page may read: "journal" (/v1/journal,
	// admin: the host has a data directory), "reducers" (the host serves reducer nodes:
	// GET /v1/reducers/{node}/keys and .../dead-letters) and "workflows" (a workflow
	// engine is attached: GET /v1/workflows).
	Features map[string]bool `json:"features"`
	// Cluster is what Options.Status adds to /readyz (the cluster's NATS connection and
	// host id), absent without it.
	Cluster map[string]any `json:"cluster,omitempty"`
	// Members are the cluster's hosts and the nodes each serves (Options.Members),
	// absent without it.
	Members []ClusterMember `json:"members,omitempty"`
}

// ClusterMember is one host of a cluster as /v1/status shows it: its id, its version,
// and the nodes it serves, sorted by name.
type ClusterMember struct {
	Host    string `json:"host"`
	Version string `json:"version,omitempty"`
	// Nodes are the compute and effect nodes the host serves over NATS.
	Nodes []string `json:"nodes"`
	// Reducers are the reducer nodes the host folds events for, absent when none.
	Reducers []string `json:"reducers,omitempty"`
	// Self marks the host that answered the status request.
	Self bool `json:"self,omitempty"`
}

// nodeStatus is one node's row: what /v1/nodes says of it, and its call counts and latency
// from the server's metrics.
type nodeStatus struct {
	Name      string         `json:"name"`
	Kind      abi.Kind       `json:"kind"`
	Version   string         `json:"version"`
	Digest    string         `json:"digest"`
	Flavour   host.Flavour   `json:"flavour"`
	Execution host.Execution `json:"execution"`
	Pool      host.PoolStats `json:"pool"`
	// Quarantined reports a node that fails every call until it is reloaded.
	Quarantined bool `json:"quarantined,omitempty"`
	callSummary
}

// callSummary is a node's calls since the process started (batch items included), those
// that failed, and the median and 99th percentile of single calls' wall time in
// milliseconds. The percentiles are estimated from onex_call_duration_seconds' buckets
// (each 4× the last) by linear interpolation, as Prometheus' histogram_quantile does: an
// order of magnitude, not a measurement; 0 before the first call. For a reducer node the
// calls are its events (onex_reducer_events_total; a fold that failed or an event not
// applied is an error) and the percentiles those of applying one
// (onex_reducer_apply_duration_seconds).
type callSummary struct {
	Calls  uint64  `json:"calls"`
	Errors uint64  `json:"errors"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
}

// cacheStatus is the compute cache's two levels: this host's (local) and the cluster's
// shared one (when host.Config.SharedCache is set), each with its hit rate in percent
// (0 before any lookup reached it), and the raw counters.
type cacheStatus struct {
	Local struct {
		Entries int     `json:"entries"`
		Max     int     `json:"max"`
		Hits    uint64  `json:"hits"`
		HitRate float64 `json:"hit_rate"` // of every lookup
	} `json:"local"`
	Shared struct {
		Configured bool    `json:"configured"`
		Hits       uint64  `json:"hits"`
		HitRate    float64 `json:"hit_rate"` // of the lookups the local level missed
	} `json:"shared"`
	Stats host.CacheStats `json:"stats"`
}

// effectStatus is the effects in flight (open transactions), the transactions ended by
// final state, the calls stuck past their deadline, and what start-up recovery did.
type effectStatus struct {
	host.TransactionStats
	Stuck    int `json:"stuck"`
	Recovery struct {
		RolledBack  int      `json:"rolled_back"`
		Failed      int      `json:"failed"`
		Republished int      `json:"republished"`
		Errors      []string `json:"errors,omitempty"`
	} `json:"recovery"`
}

// serveStatus answers GET /v1/status.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	features := map[string]bool{}
	role := RoleAdmin
	if len(s.opts.Tokens) > 0 {
		role = s.roleOf(r)
	}
	calls := s.metrics.callSummaries()
	if s.reducerMetrics != nil {
		maps.Copy(calls, s.reducerMetrics.reducerSummaries()) // reducer nodes make no calls of their own
	}
	nodes := *s.nodes.Load()
	out := status{Time: time.Now().UTC(), Ready: s.Ready(), Role: role.String(), Auth: len(s.opts.Tokens) > 0,
		Nodes: make([]nodeStatus, 0, len(nodes)), Breakers: s.breakerInfos(), Quarantine: s.quarantine(),
		Features: features}
	features["journal"] = s.host.Config().DataDir != ""
	features["workflows"] = s.engine() != nil
	features["reducers"] = false
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		n := nodes[name]
		if n.reducer != nil {
			features["reducers"] = true
		}
		p := n.plugin
		if p == nil { // an FSM node: no plugin, no pool
			out.Nodes = append(out.Nodes, nodeStatus{Name: name, Kind: n.kind(), Digest: n.digest(), Flavour: "fsm",
				callSummary: calls[name]})
			continue
		}
		out.Nodes = append(out.Nodes, nodeStatus{Name: name, Kind: p.Manifest().Kind, Version: p.Manifest().Version,
			Digest: p.Digest(), Flavour: p.Flavour(), Execution: p.Execution(), Pool: p.Stats(),
			Quarantined: p.Quarantined(), callSummary: calls[name]})
	}
	cs := s.host.CacheStats()
	out.Cache.Stats = cs
	out.Cache.Local.Entries, out.Cache.Local.Max, out.Cache.Local.Hits = cs.ValidEntries, cs.MaxSize, cs.Hits
	out.Cache.Local.HitRate = percent(cs.Hits, cs.TotalRequests)
	out.Cache.Shared.Configured = s.host.Config().SharedCache != nil
	out.Cache.Shared.Hits = cs.SharedHits
	out.Cache.Shared.HitRate = percent(cs.SharedHits, cs.SharedHits+cs.Misses)
	out.Effects.TransactionStats = s.host.TransactionStats()
	for _, c := range s.host.StuckCalls() {
		if c.Ended.IsZero() {
			out.Effects.Stuck++
		}
	}
	rec := s.host.LastRecovery()
	out.Effects.Recovery.RolledBack, out.Effects.Recovery.Failed = rec.RolledBack, rec.Failed
	out.Effects.Recovery.Republished, out.Effects.Recovery.Errors = rec.Republished, rec.Errors
	if s.opts.Status != nil {
		out.Cluster = s.opts.Status()
	}
	if s.opts.Members != nil {
		out.Members = s.opts.Members()
	}
	writeJSON(w, http.StatusOK, out)
}

func percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// callSummaries reads every node's calls, errors and latency percentiles from the
// metrics (at the cost of one scrape of two metric families; nothing is added to the call
// path).
func (t *telemetry) callSummaries() map[string]callSummary {
	return summarize(t.calls, func(outcome string) bool { return outcome == "ok" }, t.callSeconds)
}

// reducerSummaries is callSummaries for reducer nodes: their events (an applied or
// duplicate event is a call that succeeded) and apply latency.
func (t *reducerTelemetry) reducerSummaries() map[string]callSummary {
	return summarize(t.events, func(outcome string) bool { return outcome == "applied" || outcome == "duplicate" }, t.applySeconds)
}

// summarize reads per-node counts from counts (labels node and outcome; ok tells the
// outcomes that are no error) and latency percentiles from the histograms seconds
// (label node).
func summarize(counts prometheus.Collector, ok func(outcome string) bool, seconds prometheus.Collector) map[string]callSummary {
	out := map[string]callSummary{}
	for _, m := range collect(counts) {
		node, outcome := label(m, "node"), label(m, "outcome")
		c := out[node]
		n := uint64(m.GetCounter().GetValue())
		c.Calls += n
		if !ok(outcome) {
			c.Errors += n
		}
		out[node] = c
	}
	// The histograms of one node (one per operation and kind) share their buckets:
	// their cumulative counts add up.
	type merged struct {
		bounds []float64
		counts []uint64
		total  uint64
	}
	hists := map[string]*merged{}
	for _, m := range collect(seconds) {
		h, node := m.GetHistogram(), label(m, "node")
		mh := hists[node]
		if mh == nil {
			mh = &merged{}
			for _, b := range h.GetBucket() {
				mh.bounds = append(mh.bounds, b.GetUpperBound())
			}
			mh.counts = make([]uint64, len(mh.bounds))
			hists[node] = mh
		}
		for i, b := range h.GetBucket() {
			mh.counts[i] += b.GetCumulativeCount()
		}
		mh.total += h.GetSampleCount()
	}
	for node, mh := range hists {
		c := out[node]
		c.P50MS = 1000 * quantile(0.5, mh.bounds, mh.counts, mh.total)
		c.P99MS = 1000 * quantile(0.99, mh.bounds, mh.counts, mh.total)
		out[node] = c
	}
	return out
}

// quantile estimates the q-quantile of total observations from cumulative bucket counts
// with upper bounds bounds (ascending, +Inf not included), interpolating linearly within
// the bucket it falls in; past the last bound it answers that bound.
func quantile(q float64, bounds []float64, counts []uint64, total uint64) float64 {
	if total == 0 || len(bounds) == 0 {
		return 0
	}
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for i, upper := range bounds {
		if float64(counts[i]) >= rank {
			in := counts[i] - below
			if in == 0 {
				return upper
			}
			return lower + (upper-lower)*(rank-float64(below))/float64(in)
		}
		lower, below = upper, counts[i]
	}
	return bounds[len(bounds)-1]
}

// collect returns the current value of every series of c.
func collect(c prometheus.Collector) []*dto.Metric {
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	var out []*dto.Metric
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) == nil {
			out = append(out, &d)
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// breakerInfos is every breaker as /v1/breakers and /v1/status show it.
func (s *Server) breakerInfos() []breakerInfo {
	out := []breakerInfo{}
	for _, b := range s.host.Breakers() {
		out = append(out, breakerInfo{Service: b.Service, State: b.State.String(), Disabled: b.Disabled, OpenedAt: b.OpenedAt,
			RetryAfter: b.RetryAfter.Seconds(), Successes: b.Successes, Failures: b.Failures, Rejected: b.Rejected,
			Late: b.Late, Canceled: b.Canceled})
	}
	return out
}
