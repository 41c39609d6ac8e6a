package host_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/tracing"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestPlugin_GuestOutputCarriesTraceIDs: what a guest prints or logs during a call is a
// log record of that call — with the trace and span ids of the call's context when the
// host's logger reads them (tracing.Handler, as serve installs it).
func TestPlugin_GuestOutputCarriesTraceIDs(t *testing.T) {
	rec := &recorder{}
	h, _ := newHost(t, host.NewConfig().WithLogger(slog.New(tracing.Handler(rec))))
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	want := sc.TraceID().String()

	t.Run("native", func(t *testing.T) {
		p := loadGo(t, h, "plugins/testdata/chatty", host.PluginConfig{})
		_, err := p.Call(ctx, "talk", []byte(`null`))
		require.NoError(t, err)
		for _, msg := range []string{"hello from chatty", "to stdout", "to stderr"} {
			logs := rec.FindPrefix(msg)
			require.NotEmpty(t, logs, msg)
			assert.Equal(t, want, logs[len(logs)-1].Attrs[tracing.LogTraceID], msg)
		}
		// Outside a call's context, no trace id is invented.
		_, err = p.Call(context.Background(), "talk", []byte(`null`))
		require.NoError(t, err)
		logs := rec.Find("to stdout")
		assert.NotContains(t, logs[len(logs)-1].Attrs, tracing.LogTraceID)
	})
	t.Run("extism", func(t *testing.T) {
		p, err := h.Load(ctx, plugintest.Bytes(t, extismechoPath), host.PluginConfig{})
		require.NoError(t, err)
		_, err = p.Call(ctx, "chat", nil)
		require.NoError(t, err)
		for _, msg := range []string{"hello from extism", "extism to stdout"} {
			logs := rec.FindPrefix(msg)
			require.NotEmpty(t, logs, msg)
			assert.Equal(t, want, logs[len(logs)-1].Attrs[tracing.LogTraceID], msg)
		}
	})
}
