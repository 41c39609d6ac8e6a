package cluster

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/onexhost/onex-host/host/server"
)

// MembershipConfig configures WatchMembers. The zero value takes every default.
type MembershipConfig struct {
	// HostID is this host's id: its member is marked Self. Default "": none is.
	HostID string
	// Every is how often the members are asked for their service info; a new host is
	// listed within Every, a stopped or dead one dropped within 2×Every. Default 2 s.
	Every time.Duration
	// Logger receives replies that cannot be read; default slog.Default().
	Logger *slog.Logger
}

// Membership keeps the list of the cluster's hosts: every Every it asks each instance
// of the micro service ServiceName for its info ($SRV.INFO.onex-host, as `nats micro
// info` does) and lists the hosts that answered the last round or the one before, each
// with the nodes its endpoints serve. Members never waits for the network. It is safe
// for concurrent use.
type Membership struct {
	nc    *nats.Conn
	cfg   MembershipConfig
	log   *slog.Logger
	inbox string
	sub   *nats.Subscription
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	// mu guards round and seen.
	mu sync.Mutex
	// round is the number of the last round asked (the first is 1).
	round uint64
	// seen is each host's member as it last answered, and the round it answered.
	seen map[string]seenMember
}

type seenMember struct {
	member server.ClusterMember
	round  uint64
}

// WatchMembers starts keeping the cluster's members on nc until Close; the first round
// is asked before it returns. It fails only when the subscription for the replies
// cannot be made.
func WatchMembers(nc *nats.Conn, cfg MembershipConfig) (*Membership, error) {
	if cfg.Every <= 0 {
		cfg.Every = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Membership{nc: nc, cfg: cfg, log: cfg.Logger.With("component", "cluster"), inbox: nc.NewRespInbox(),
		stop: make(chan struct{}), done: make(chan struct{}), seen: map[string]seenMember{}}
	var err error
	// Each round's replies come to inbox.<round>: a late reply counts for its own round.
	m.sub, err = nc.Subscribe(m.inbox+".*", m.receive)
	if err != nil {
		return nil, fmt.Errorf("cluster: watching the members: %w", err)
	}
	m.ask()
	go m.loop()
	return m, nil
}

// loop asks a round every Every until Close.
func (m *Membership) loop() {
	defer close(m.done)
	t := time.NewTicker(m.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.ask()
		case <-m.stop:
			return
		}
	}
}

// ask starts a new round: every instance of the service answers to inbox.<round>.
func (m *Membership) ask() {
	m.mu.Lock()
	m.round++
	r := m.round
	// Forget the hosts that answered neither this round's predecessor nor any later.
	maps.DeleteFunc(m.seen, func(_ string, s seenMember) bool { return s.round+1 < r })
	m.mu.Unlock()
	subject, _ := micro.ControlSubject(micro.InfoVerb, ServiceName, "")
	if err := m.nc.PublishRequest(subject, m.inbox+"."+strconv.FormatUint(r, 10), nil); err != nil {
		m.log.Debug("members not asked", "error", err)
	}
}

// receive records one instance's info.
func (m *Membership) receive(msg *nats.Msg) {
	r, err := strconv.ParseUint(msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:], 10, 64)
	if err != nil {
		return
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		m.log.Debug("unreadable service info", "error", err)
		return
	}
	mem := memberOf(info)
	mem.Self = m.cfg.HostID != "" && mem.Host == m.cfg.HostID
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.seen[mem.Host]; !ok || s.round <= r {
		m.seen[mem.Host] = seenMember{member: mem, round: r}
	}
}

// memberOf reads a host's member from its service info: Serve puts the host id and the
// reducer nodes in the service's metadata, and each endpoint's node in the endpoint's.
func memberOf(info micro.Info) server.ClusterMember {
	mem := server.ClusterMember{Host: info.Metadata[metaHost], Version: info.Version, Nodes: []string{}}
	if mem.Host == "" {
		mem.Host = info.ID // a service not registered by Serve
	}
	for _, e := range info.Endpoints {
		if n := e.Metadata[metaNode]; n != "" && !slices.Contains(mem.Nodes, n) {
			mem.Nodes = append(mem.Nodes, n)
		}
	}
	slices.Sort(mem.Nodes)
	if rs := info.Metadata[metaReducers]; rs != "" {
		mem.Reducers = strings.Split(rs, ",")
	}
	return mem
}

// Members returns the hosts that answered the last round or the one before, sorted by
// host id. It does not block on the network; the slices are the caller's.
func (m *Membership) Members() []server.ClusterMember {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]server.ClusterMember, 0, len(m.seen))
	for _, s := range m.seen {
		if s.round+1 >= m.round {
			mem := s.member
			mem.Nodes = slices.Clone(mem.Nodes)
			mem.Reducers = slices.Clone(mem.Reducers)
			out = append(out, mem)
		}
	}
	slices.SortFunc(out, func(a, b server.ClusterMember) int { return strings.Compare(a.Host, b.Host) })
	return out
}

// Close stops asking and unsubscribes; Members then keeps answering the last list. A
// second Close does nothing.
func (m *Membership) Close() {
	m.once.Do(func() {
		close(m.stop)
		<-m.done
		_ = m.sub.Unsubscribe()
	})
}
