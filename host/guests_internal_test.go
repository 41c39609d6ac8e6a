package host

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/guest"
)

// TestPluginError_FromFailure: every guest.Kind has its sentinel, and a flavour's failure
// reaches callers as the *PluginError they saw before the flavours moved out: the
// plugin named, every field kept, the cause reachable.
func TestPluginError_FromFailure(t *testing.T) {
	seen := map[error]bool{}
	for k := guest.KindFailed; k <= guest.KindClosed; k++ {
		require.Less(t, int(k), len(failureKinds))
		require.NotNil(t, failureKinds[k], "kind %d has no sentinel", k)
		assert.False(t, seen[failureKinds[k]], "kind %d shares its sentinel", k)
		seen[failureKinds[k]] = true
	}
	assert.Len(t, failureKinds, int(guest.KindClosed)+1)

	p := &Plugin{name: "vowels"}
	cause := context.DeadlineExceeded
	err := p.pluginError(&guest.Failure{Op: "count", Kind: guest.KindTimeout, Code: "c", Message: "m", Retryable: true, Cause: cause})
	var pe *PluginError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, &PluginError{Plugin: "vowels", Op: "count", Kind: ErrTimeout, Code: "c", Message: "m", Retryable: true, Cause: cause}, pe)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "host: plugin vowels: count: timeout: m", err.Error())

	other := errors.New("not a failure")
	assert.Same(t, other, p.pluginError(other))
	assert.NoError(t, p.pluginError(nil))
}
