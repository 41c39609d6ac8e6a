package cluster

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes the cluster's state as Prometheus metrics: the NATS connection
// (onex_nats_connected, onex_nats_reconnects_total, onex_nats_messages_total by
// direction), the service's requests and errors by node and operation
// (onex_cluster_requests_total, onex_cluster_request_errors_total), the shared cache
// (onex_shared_cache_total by result) and, for an embedded server, its routes and
// whether JetStream runs (onex_nats_routes, onex_jetstream_enabled), and the JetStream
// account as the connection sees it, embedded or external (onex_jetstream_up,
// onex_jetstream_bytes by storage, onex_jetstream_streams, onex_jetstream_consumers,
// onex_jetstream_api_errors_total; asked at each scrape, within one second). It is safe
// for concurrent use; set the parts with the Set methods as they start.
type Collector struct {
	nc       *nats.Conn
	js       jetstream.JetStream // nil when the connection offers none
	embedded *Embedded
	svc      atomic.Pointer[Service]
	effects  atomic.Pointer[EffectRecords]
	cache    atomic.Pointer[SharedCache]
}

// NewCollector returns a Collector for nc and, when not nil, the embedded server.
func NewCollector(nc *nats.Conn, embedded *Embedded) *Collector {
	js, _ := jetstream.New(nc)
	return &Collector{nc: nc, embedded: embedded, js: js}
}

// SetService adds the service's request counts.
func (c *Collector) SetService(s *Service) { c.svc.Store(s) }

// SetEffectRecords adds the effects left in doubt (onex_effects_in_doubt_total).
func (c *Collector) SetEffectRecords(r *EffectRecords) { c.effects.Store(r) }

// SetSharedCache adds the shared cache's counts.
func (c *Collector) SetSharedCache(s *SharedCache) { c.cache.Store(s) }

var (
	descConnected   = prometheus.NewDesc("onex_nats_connected", "1 while the NATS connection is up.", nil, nil)
	descReconnects  = prometheus.NewDesc("onex_nats_reconnects_total", "NATS reconnections.", nil, nil)
	descMessages    = prometheus.NewDesc("onex_nats_messages_total", "NATS messages by direction.", []string{"direction"}, nil)
	descRequests    = prometheus.NewDesc("onex_cluster_requests_total", "Requests this host served for the cluster.", []string{"node", "operation"}, nil)
	descReqErrors   = prometheus.NewDesc("onex_cluster_request_errors_total", "Cluster requests whose reply could not be sent.", []string{"node", "operation"}, nil)
	descSharedCache = prometheus.NewDesc("onex_shared_cache_total", "Shared cache level outcomes: hit, wait (a hit after waiting for another host), miss, store, error.", []string{"result"}, nil)
	descInDoubt     = prometheus.NewDesc("onex_effects_in_doubt_total", "Effects rolled back after a commit-record write whose outcome could not be learnt: a repeat is answered 503 until the record is settled (in the background, or by Reconcile at the next start).", nil, nil)
	descRoutes      = prometheus.NewDesc("onex_nats_routes", "Routes of the embedded NATS server to other cluster members.", nil, nil)
	descJetStream   = prometheus.NewDesc("onex_jetstream_enabled", "1 when the embedded NATS server runs JetStream.", nil, nil)
	descJSUp        = prometheus.NewDesc("onex_jetstream_up", "1 when JetStream answered this scrape's account request.", nil, nil)
	descJSBytes     = prometheus.NewDesc("onex_jetstream_bytes", "Bytes of stream messages in the JetStream account, by storage.", []string{"storage"}, nil)
	descJSStreams   = prometheus.NewDesc("onex_jetstream_streams", "Streams (key-value buckets included) in the JetStream account.", nil, nil)
	descJSConsumers = prometheus.NewDesc("onex_jetstream_consumers", "Consumers in the JetStream account.", nil, nil)
	descJSAPIErrors = prometheus.NewDesc("onex_jetstream_api_errors_total", "JetStream API requests of the account that failed.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnected, descReconnects, descMessages, descRequests, descReqErrors,
		descSharedCache, descInDoubt, descRoutes, descJetStream, descJSUp, descJSBytes, descJSStreams, descJSConsumers, descJSAPIErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	connected := 0.0
	if c.nc.IsConnected() {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, connected)
	st := c.nc.Stats()
	ch <- prometheus.MustNewConstMetric(descReconnects, prometheus.CounterValue, float64(st.Reconnects))
	ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(st.InMsgs), "in")
	ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(st.OutMsgs), "out")
	if s := c.svc.Load(); s != nil {
		for _, ep := range s.Stats().Endpoints {
			rest := strings.TrimPrefix(ep.Subject, SubjectPrefix)
			i := strings.LastIndexByte(rest, '.')
			if i < 0 {
				continue
			}
			node, op := rest[:i], rest[i+1:]
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(ep.NumRequests), node, op)
			ch <- prometheus.MustNewConstMetric(descReqErrors, prometheus.CounterValue, float64(ep.NumErrors), node, op)
		}
	}
	if r := c.effects.Load(); r != nil {
		ch <- prometheus.MustNewConstMetric(descInDoubt, prometheus.CounterValue, float64(r.InDoubt()))
	}
	if sc := c.cache.Load(); sc != nil {
		s := sc.Stats()
		for _, r := range []struct {
			name string
			n    uint64
		}{{"hit", s.Hits - s.Waits}, {"wait", s.Waits}, {"miss", s.Misses}, {"store", s.Stores}, {"error", s.Errors}} {
			ch <- prometheus.MustNewConstMetric(descSharedCache, prometheus.CounterValue, float64(r.n), r.name)
		}
	}
	if c.js != nil {
		up := 0.0
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := c.js.AccountInfo(ctx)
		cancel()
		if err == nil {
			up = 1
			ch <- prometheus.MustNewConstMetric(descJSBytes, prometheus.GaugeValue, float64(info.Store), "file")
			ch <- prometheus.MustNewConstMetric(descJSBytes, prometheus.GaugeValue, float64(info.Memory), "memory")
			ch <- prometheus.MustNewConstMetric(descJSStreams, prometheus.GaugeValue, float64(info.Streams))
			ch <- prometheus.MustNewConstMetric(descJSConsumers, prometheus.GaugeValue, float64(info.Consumers))
			ch <- prometheus.MustNewConstMetric(descJSAPIErrors, prometheus.CounterValue, float64(info.API.Errors))
		}
		ch <- prometheus.MustNewConstMetric(descJSUp, prometheus.GaugeValue, up)
	}
	if c.embedded != nil {
		ch <- prometheus.MustNewConstMetric(descRoutes, prometheus.GaugeValue, float64(c.embedded.srv.NumRoutes()))
		js := 0.0
		if c.embedded.srv.JetStreamEnabled() {
			js = 1
		}
		ch <- prometheus.MustNewConstMetric(descJetStream, prometheus.GaugeValue, js)
	}
}
