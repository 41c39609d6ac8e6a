package cluster_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/server"
)

// Membership lists every host serving in the cluster with its nodes, /v1/status shows
// them, and a host that stops serving leaves the list.
func TestMembership_Members(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	a := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{nodes: onlyCore})
	b := newMember(t, "b", func() (*nats.Conn, error) { return e.Connect("b") }, memberOptions{nodes: onlyEffects})
	// Every is how often hosts are asked, not a wait: the test waits for what it sees.
	ms, err := cluster.WatchMembers(a.nc, cluster.MembershipConfig{HostID: "a", Every: 20 * time.Millisecond, Logger: quiet})
	require.NoError(t, err)
	defer ms.Close()

	want := []server.ClusterMember{
		{Host: "a", Version: "0.0.0", Nodes: []string{"core"}, Self: true},
		{Host: "b", Version: "0.0.0", Nodes: []string{"effects"}},
	}
	eventually(t, func() bool { return slices.EqualFunc(ms.Members(), want, sameMember) }, "both hosts listed with their nodes")

	// The status page's JSON carries them.
	h, err := host.New(context.Background(), host.NewConfig().WithDataDir("").WithCacheDir("").WithLogger(quiet))
	require.NoError(t, err)
	defer h.Close(context.Background())
	front := server.New(h, server.Options{Logger: quiet, Members: ms.Members})
	require.NoError(t, front.Load(context.Background(), nil))
	ts := httptest.NewServer(front.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/v1/status")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st struct {
		Members []server.ClusterMember `json:"members"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	require.Len(t, st.Members, 2)
	for i := range want {
		assert.True(t, sameMember(st.Members[i], want[i]), "member %d: %+v", i, st.Members[i])
	}

	// A host that stops serving is dropped; the other stays.
	b.stop(t)
	eventually(t, func() bool { return slices.EqualFunc(ms.Members(), want[:1], sameMember) }, "b dropped once it stopped")

	// After Close the last list stands.
	ms.Close()
	assert.True(t, slices.EqualFunc(ms.Members(), want[:1], sameMember))
	ms.Close() // a second Close does nothing
}

func sameMember(x, y server.ClusterMember) bool {
	return x.Host == y.Host && x.Version == y.Version && x.Self == y.Self &&
		slices.Equal(x.Nodes, y.Nodes) && slices.Equal(x.Reducers, y.Reducers)
}
