package cluster_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/cluster"
)

// breakerState is the state of h's breaker of service ("closed" when it has none).
func breakerState(h *host.Host, service string) string {
	for _, b := range h.Breakers() {
		if b.Service == service {
			return b.State.String()
		}
	}
	return "closed"
}

func TestAdvisories_PublishAndQuorum(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	nc, err := e.Connect("self")
	require.NoError(t, err)
	defer nc.Close()
	h, err := host.New(context.Background(), host.NewConfig().WithDataDir("").WithCacheDir("").WithLogger(quiet))
	require.NoError(t, err)
	defer h.Close(context.Background())
	// The window is long enough that the reports of one step are all in it when they are
	// judged (a step publishes them back to back); the last step waits for it to pass.
	const window = 3 * time.Second
	a, err := cluster.StartAdvisories(nc, h, cluster.AdvisoryConfig{HostID: "self", Quorum: 2, Window: window, Logger: quiet})
	require.NoError(t, err)
	defer a.Close()

	peers, err := e.Connect("peers")
	require.NoError(t, err)
	defer peers.Close()
	var mu sync.Mutex
	var seen []cluster.BreakerAdvisory
	_, err = peers.Subscribe(cluster.AdvisorySubject, func(m *nats.Msg) {
		var adv cluster.BreakerAdvisory
		if json.Unmarshal(m.Data, &adv) == nil && adv.Host == "self" {
			mu.Lock()
			seen = append(seen, adv)
			mu.Unlock()
		}
	})
	require.NoError(t, err)
	require.NoError(t, peers.Flush())
	report := func(host, to string, adopted bool) {
		b, _ := json.Marshal(cluster.BreakerAdvisory{Host: host, Service: "http:api", From: "closed", To: to, Adopted: adopted})
		require.NoError(t, peers.Publish(cluster.AdvisorySubject, b))
		require.NoError(t, peers.Flush())
	}
	const svc = "http:api"

	// This host's own change is published.
	h.ForceOpenBreaker("fs:/data")
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 1 })
	assert.Equal(t, "fs:/data", seen[0].Service)
	assert.Equal(t, "open", seen[0].To)
	assert.False(t, seen[0].Adopted)

	// One host open, one adopted report: below the quorum of 2.
	report("x", "open", false)
	report("y", "open", true)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, "closed", breakerState(h, svc))

	// A second host's own report: adopted.
	report("z", "open", false)
	eventually(t, func() bool { return breakerState(h, svc) == "open" })
	assert.Equal(t, []string{svc}, a.Adopted())
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 2 && seen[1].Service == svc && seen[1].Adopted
	}, "the adoption is announced as adopted, so that it does not count elsewhere")

	// z recovers: below the quorum again, released.
	report("z", "closed", false)
	eventually(t, func() bool { return breakerState(h, svc) == "closed" })
	assert.Empty(t, a.Adopted())

	// Reports age out of the window: adopted, then released without another message. The
	// adoption is seen by its announcement (the breaker is open only for the window).
	mu.Lock()
	announced := len(seen)
	mu.Unlock()
	report("z", "open", false)
	report("x", "open", false)
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, adv := range seen[announced:] {
			if adv.Service == svc && adv.To == "open" && adv.Adopted {
				return true
			}
		}
		return false
	}, "adopted again")
	eventually(t, func() bool { return breakerState(h, svc) == "closed" }, "released when the reports aged out")
}
