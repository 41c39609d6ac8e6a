package cluster

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/onexhost/onex-host/host"
)

// AdvisorySubject is where hosts publish their circuit breakers' state changes
// (`nats sub onex.advisory.breaker` shows them live). Breakers stay local per host —
// failure counts shared between hosts misjudge failures local to one host (its network,
// its DNS) — so advisories are for operators and dashboards, and, when asked, for quorum
// adoption (AdvisoryConfig.Quorum).
const AdvisorySubject = "onex.advisory.breaker"

// BreakerAdvisory is one state change of one host's breaker.
type BreakerAdvisory struct {
	Host    string    `json:"host"`
	Service string    `json:"service"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Time    time.Time `json:"time"`
	// Adopted marks a breaker opened because other hosts reported it open, not because
	// of this host's own failures: other hosts do not count it towards their quorum.
	Adopted bool `json:"adopted,omitempty"`
}

// AdvisoryConfig configures Advisories. The zero value publishes and adopts nothing.
type AdvisoryConfig struct {
	// HostID names this host in its advisories; required.
	HostID string
	// Quorum, when positive, makes this host adopt "open" for a service when at least
	// Quorum other hosts report their breaker of it open (by their own failures), and
	// release it (back to closed, counts reset) when fewer do. Default 0: never adopt.
	Quorum int
	// Window is how long a report of "open" counts; default 2 min. A host that stays
	// open re-reports each time its breaker re-opens after a failed probe.
	Window time.Duration
	// Logger receives adoptions and failures; default slog.Default().
	Logger *slog.Logger
}

// Advisories publishes every breaker state change of one host on AdvisorySubject and,
// with a Quorum, follows the other hosts' reports. It is safe for concurrent use.
type Advisories struct {
	nc  *nats.Conn
	h   *host.Host
	cfg AdvisoryConfig
	log *slog.Logger
	sub *nats.Subscription

	judging sync.Mutex // one judgement at a time, so adopt and release apply in order
	mu      sync.Mutex
	reports map[string]map[string]BreakerAdvisory // service → host → latest report
	adopted map[string]bool                       // services this host opened by quorum
	stop    chan struct{}
	done    chan struct{}
}

// StartAdvisories starts publishing h's breaker changes and, with a Quorum, following
// the other hosts'. Stop it with Close.
func StartAdvisories(nc *nats.Conn, h *host.Host, cfg AdvisoryConfig) (*Advisories, error) {
	if cfg.HostID == "" {
		return nil, fmt.Errorf("%w: advisories need a host id", ErrConfig)
	}
	if cfg.Window <= 0 {
		cfg.Window = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Advisories{nc: nc, h: h, cfg: cfg, log: cfg.Logger.With("component", "breaker-advisories"),
		reports: map[string]map[string]BreakerAdvisory{}, adopted: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	h.OnBreakerChange(a.publish)
	if cfg.Quorum <= 0 {
		close(a.done)
		return a, nil
	}
	sub, err := nc.Subscribe(AdvisorySubject, a.receive)
	if err != nil {
		return nil, fmt.Errorf("cluster: subscribing to %s: %w", AdvisorySubject, err)
	}
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: subscribing to %s: %w", AdvisorySubject, err)
	}
	a.sub = sub
	go a.expire()
	return a, nil
}

// publish sends one local change. It never blocks the breaker: a change that cannot be
// sent is logged and dropped.
func (a *Advisories) publish(service, from, to string) {
	if a.nc.IsClosed() {
		return
	}
	a.mu.Lock()
	adopted := a.adopted[service]
	a.mu.Unlock()
	b, _ := json.Marshal(BreakerAdvisory{Host: a.cfg.HostID, Service: service, From: from, To: to,
		Time: time.Now().UTC(), Adopted: adopted && to == "open"})
	if err := a.nc.Publish(AdvisorySubject, b); err != nil {
		a.log.Warn("breaker advisory not published", "service", service, "to", to, "error", err)
	}
}

// receive records another host's report and re-judges its service.
func (a *Advisories) receive(msg *nats.Msg) {
	var adv BreakerAdvisory
	if err := json.Unmarshal(msg.Data, &adv); err != nil || adv.Host == "" || adv.Service == "" {
		return
	}
	if adv.Host == a.cfg.HostID || adv.Adopted {
		// An adopted report is not its host's own judgement: it neither counts as open
		// nor changes what that host last reported of its own.
		return
	}
	a.mu.Lock()
	if a.reports[adv.Service] == nil {
		a.reports[adv.Service] = map[string]BreakerAdvisory{}
	}
	adv.Time = time.Now() // judged by arrival: hosts' clocks differ
	a.reports[adv.Service][adv.Host] = adv
	a.mu.Unlock()
	a.judge(adv.Service)
}

// judge adopts or releases "open" for service by the current reports.
func (a *Advisories) judge(service string) {
	a.judging.Lock()
	defer a.judging.Unlock()
	a.mu.Lock()
	open := 0
	for _, r := range a.reports[service] {
		if r.To == "open" && time.Since(r.Time) < a.cfg.Window {
			open++
		}
	}
	adopt := open >= a.cfg.Quorum && !a.adopted[service]
	release := open < a.cfg.Quorum && a.adopted[service]
	if adopt {
		a.adopted[service] = true
	}
	if release {
		delete(a.adopted, service)
	}
	a.mu.Unlock()
	switch {
	case adopt:
		a.log.Warn("breaker opened: other hosts report the service failing", "service", service, "hosts_open", open, "quorum", a.cfg.Quorum)
		a.h.ForceOpenBreaker(service)
	case release:
		a.log.Info("breaker released: fewer hosts report the service failing", "service", service, "hosts_open", open, "quorum", a.cfg.Quorum)
		a.h.ResetBreaker(service)
	}
}

// expire re-judges adopted services as their reports age out of the window.
func (a *Advisories) expire() {
	defer close(a.done)
	tick := time.NewTicker(max(a.cfg.Window/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-tick.C:
			a.mu.Lock()
			var services []string
			for s := range a.adopted {
				services = append(services, s)
			}
			a.mu.Unlock()
			for _, s := range services {
				a.judge(s)
			}
		}
	}
}

// Adopted returns the services this host holds open by quorum.
func (a *Advisories) Adopted() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.adopted))
	for s := range a.adopted {
		out = append(out, s)
	}
	return out
}

// Close stops following other hosts (breakers it adopted stay as they are) and waits
// for its goroutine. Publishing stops when the connection closes.
func (a *Advisories) Close() {
	if a.sub != nil {
		_ = a.sub.Unsubscribe()
		select {
		case <-a.stop:
		default:
			close(a.stop)
		}
	}
	<-a.done
}
