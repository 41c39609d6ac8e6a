package cluster

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnectConfig says how to reach an external NATS cluster.
type ConnectConfig struct {
	// URL lists the servers, comma-separated ("nats://a:4222,nats://b:4222"); required.
	URL string
	// Name identifies the connection in the servers' monitoring; default "onex-host".
	Name string
	// CredsFile (a .creds file: JWT and NKey seed), User and Password, or Token
	// authenticate the connection. None of them is ever logged.
	CredsFile      string
	User, Password string
	Token          string
	// TLSCA verifies the servers' certificates; TLSCert and TLSKey present a client
	// certificate. Setting any of them requires TLS.
	TLSCA, TLSCert, TLSKey string
	// Logger receives connection events (disconnected, reconnected, closed); default
	// slog.Default().
	Logger *slog.Logger
	// WaitFor, when positive, keeps trying to reach the cluster for this long before
	// Connect fails (a host started before its NATS servers). Default 0: fail at once.
	WaitFor time.Duration
}

// Connect dials the cluster. The connection reconnects forever (NATS's client retries
// every server in turn), buffering what is published meanwhile; close it with Drain or
// Close.
func Connect(cfg ConnectConfig) (*nats.Conn, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("%w: a NATS URL is required", ErrConfig)
	}
	if cfg.Name == "" {
		cfg.Name = "onex-host"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := []nats.Option{nats.Name(cfg.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	opts = append(opts, connectionLogging(cfg.Logger)...)
	switch {
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	if cfg.WaitFor > 0 {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting to %s: %w", Redact(cfg.URL), err)
	}
	if cfg.WaitFor > 0 && !nc.IsConnected() {
		cfg.Logger.Info("waiting for NATS", "url", Redact(cfg.URL), "for", cfg.WaitFor)
		for deadline := time.Now().Add(cfg.WaitFor); !nc.IsConnected(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				nc.Close()
				return nil, fmt.Errorf("cluster: connecting to %s: %w within %v", Redact(cfg.URL), nats.ErrNoServers, cfg.WaitFor)
			}
		}
	}
	return nc, nil
}

// connectionLogging logs a connection's state changes, never its credentials.
func connectionLogging(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", "server", Redact(nc.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("NATS error", "subject", subject, "error", err)
		}),
	}
}

// Redact returns urls (comma-separated) with any user information replaced, so that they
// can be logged.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "(unparsable URL)"
			continue
		}
		if u.User != nil {
			u.User = url.User("redacted")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
