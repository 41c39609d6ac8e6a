package host_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/container"
	"github.com/onexhost/onex-host/host/events"
)

func TestHost_ServiceContainer(t *testing.T) {
	h := effectHost(t)
	c := h.Services()
	assert.Equal(t, []string{host.ServiceBreakers, host.ServiceCache, host.ServiceEvents, host.ServiceKV,
		host.ServiceLogger, host.ServiceTransactions}, c.Names())
	bus, err := container.Get[*events.Bus](c, host.ServiceEvents)
	require.NoError(t, err)
	assert.Same(t, h.Events(), bus)
	cache, err := container.Get[host.CacheService](c, host.ServiceCache)
	require.NoError(t, err)
	assert.Equal(t, h.CacheStats(), cache.CacheStats())
	kv, err := container.Get[host.KVService](c, host.ServiceKV)
	require.NoError(t, err)
	require.NoError(t, kv.KVReady(context.Background()))
	_, err = container.Get[*events.Bus](c, host.ServiceCache)
	require.ErrorIs(t, err, container.ErrWrongType)
}
