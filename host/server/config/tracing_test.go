package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server/config"
	"github.com/onexhost/onex-host/host/tracing"
)

func TestParse_Tracing(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    tracing.Config
		field   string // the *FieldError's field; "": no error
		anyFail bool   // an error whose field is not checked
	}{
		{name: "off by default", doc: "listen: 127.0.0.1:8080\n"},
		{name: "otlp", doc: "tracing: {exporter: otlp, endpoint: http://127.0.0.1:4318, service_name: edge}\n",
			want: tracing.Config{Exporter: "otlp", Endpoint: "http://127.0.0.1:4318", ServiceName: "edge"}},
		{name: "unknown exporter", doc: "tracing: {exporter: jaeger}\n", field: "tracing"},
		{name: "endpoint without scheme", doc: "tracing: {exporter: otlp, endpoint: collector:4318}\n", field: "tracing"},
		{name: "unknown key", doc: "tracing: {exportr: otlp}\n", anyFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Parse([]byte(tt.doc))
			switch {
			case tt.anyFail:
				require.Error(t, err)
			case tt.field != "":
				var fe *config.FieldError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, tt.field, fe.Field)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, f.Tracing)
			}
		})
	}
}
