package cluster

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/onexhost/onex-host/host"
)

// AdvisorySubject is where hosts publish their circuit breakers' state changes
// (`nats sub onex.advisory.breaker` shows them live). Breakers stay local per host —
// sharing failure counts between hosts misjudges services whose failures are local to one
// host — so these are for operators and dashboards.
const AdvisorySubject = "onex.advisory.breaker"

// BreakerAdvisory is one state change of one host's breaker.
type BreakerAdvisory struct {
	Host    string    `json:"host"`
	Service string    `json:"service"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Time    time.Time `json:"time"`
}

// PublishBreakerAdvisories publishes every breaker state change of h on AdvisorySubject
// until nc closes. Publishing never blocks the breaker: a change that cannot be sent is
// logged and dropped.
func PublishBreakerAdvisories(nc *nats.Conn, h *host.Host, hostID string, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	h.OnBreakerChange(func(service, from, to string) {
		if nc.IsClosed() {
			return
		}
		b, _ := json.Marshal(BreakerAdvisory{Host: hostID, Service: service, From: from, To: to, Time: time.Now().UTC()})
		if err := nc.Publish(AdvisorySubject, b); err != nil {
			logger.Warn("breaker advisory not published", "service", service, "to", to, "error", err)
		}
	})
}
