package config_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server/config"
)

func TestNATS_DefaultsAndSecrets(t *testing.T) {
	f := config.Default()
	assert.Equal(t, config.NATSEmbedded, f.NATSMode())
	assert.True(t, f.NATSSharedCache())
	assert.Equal(t, filepath.Join(f.DataDir, "nats"), f.NATSStoreDir())

	f, err := config.Parse([]byte("data_dir: \"\"\n"))
	require.NoError(t, err)
	assert.Equal(t, config.NATSOff, f.NATSMode(), "no data directory, no JetStream: off")

	f, err = config.Parse([]byte("nats: {mode: external, url: \"nats://u:p@a:4222\", user: onex, password_env: ONEX_TEST_NATS_PW, shared_cache: false}\n"))
	require.NoError(t, err)
	assert.False(t, f.NATSSharedCache())
	_, _, err = f.NATSSecrets()
	require.ErrorContains(t, err, "nats.password_env")
	t.Setenv("ONEX_TEST_NATS_PW", "s3cret")
	password, token, err := f.NATSSecrets()
	require.NoError(t, err)
	assert.Equal(t, "s3cret", password)
	assert.Empty(t, token)

	f, err = config.Parse([]byte("nats: {listen: \"0.0.0.0:4222\", token_env: ONEX_TEST_NATS_TOKEN}\n"))
	require.NoError(t, err, "an open listener with authentication is fine")
	assert.Equal(t, "0.0.0.0:4222", f.NATS.Listen)
}
