package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedConfig configures the NATS server run inside the process. The zero value but
// StoreDir is the single-machine default: JetStream on, no network listener at all (only
// in-process connections), no cluster.
type EmbeddedConfig struct {
	// StoreDir holds JetStream's files (streams, key-value buckets); required. onex-host
	// serve uses <data-dir>/nats, never the OS temp directory.
	StoreDir string
	// ServerName names the server; cluster members need distinct names. Default: a name
	// NATS generates.
	ServerName string
	// Listen, when set ("127.0.0.1:4222", port 0 for a free one), opens a client listener
	// so that other processes (hosts, onex-host submit, the nats CLI) can connect.
	// Default "": no listener — except for a cluster member, which NATS does not route
	// without one: it gets a random loopback port.
	Listen string
	// User and Password, or Token, require client authentication on the listener.
	User, Password, Token string
	// ClusterName, ClusterListen and Routes make the server a member of a NATS cluster:
	// it listens for routes on ClusterListen ("127.0.0.1:6222") and dials Routes
	// ("nats://127.0.0.1:6223", …). JetStream then replicates across members.
	ClusterName   string
	ClusterListen string
	Routes        []string
	// LeafRemotes, when set, connects the server as a leaf node to these URLs
	// ("nats://hub:7422").
	LeafRemotes []string
	// MaxPayload bounds one message; default NATS's 1 MiB.
	MaxPayload int32
	// ReadyTimeout bounds the start; default 10 s.
	ReadyTimeout time.Duration
	// Logger receives the server's warnings and errors; default slog.Default().
	Logger *slog.Logger
}

// Embedded is a running in-process NATS server. It is safe for concurrent use.
type Embedded struct {
	srv *server.Server
	cfg EmbeddedConfig
}

// ErrConfig marks an invalid EmbeddedConfig or ConnectConfig.
var ErrConfig = errors.New("cluster: invalid configuration")

// StartEmbedded starts the server and waits until it accepts connections. In a cluster
// it does not wait for JetStream's meta leader: the users of streams and buckets retry
// until JetStream is ready (see Service and SharedCache).
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("%w: the embedded NATS server needs a JetStream store directory", ErrConfig)
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := &server.Options{
		ServerName:            cfg.ServerName,
		JetStream:             true,
		StoreDir:              cfg.StoreDir,
		DontListen:            cfg.Listen == "",
		NoSigs:                true,
		MaxPayload:            cfg.MaxPayload,
		Username:              cfg.User,
		Password:              cfg.Password,
		Authorization:         cfg.Token,
		DisableShortFirstPing: true,
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("%w: listen %q: %v", ErrConfig, cfg.Listen, err)
		}
		opts.Host, opts.Port = host, port
		if port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	if cfg.ClusterListen != "" || len(cfg.Routes) > 0 {
		if cfg.ClusterName == "" || cfg.ClusterListen == "" {
			return nil, fmt.Errorf("%w: a cluster member needs a cluster name and a cluster listen address", ErrConfig)
		}
		host, port, err := splitHostPort(cfg.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("%w: cluster listen %q: %v", ErrConfig, cfg.ClusterListen, err)
		}
		if port == 0 {
			port = server.RANDOM_PORT
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port}
		if opts.DontListen {
			// NATS routes only once its client listener is up: a member gets one on a
			// random loopback port.
			opts.DontListen, opts.Host, opts.Port = false, "127.0.0.1", server.RANDOM_PORT
		}
		for _, r := range cfg.Routes {
			u, err := url.Parse(r)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("%w: route %q: want nats://host:port", ErrConfig, r)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	for _, r := range cfg.LeafRemotes {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: leaf remote %q: want nats://host:port", ErrConfig, r)
		}
		opts.LeafNode.Remotes = append(opts.LeafNode.Remotes, &server.RemoteLeafOpts{URLs: []*url.URL{u}})
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: embedded NATS server: %w", err)
	}
	srv.SetLoggerV2(&natsLogger{log: cfg.Logger.With("component", "nats")}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(cfg.ReadyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("cluster: the embedded NATS server did not start within %v (its log says why)", cfg.ReadyTimeout)
	}
	return &Embedded{srv: srv, cfg: cfg}, nil
}

// Connect returns a connection to the embedded server: in-process (no socket) whatever
// the listener, with the server's client credentials when it requires them.
func (e *Embedded) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{nats.InProcessServer(e.srv), nats.Name(name)}
	switch {
	case e.cfg.User != "":
		base = append(base, nats.UserInfo(e.cfg.User, e.cfg.Password))
	case e.cfg.Token != "":
		base = append(base, nats.Token(e.cfg.Token))
	}
	nc, err := nats.Connect("", append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting to the embedded NATS server: %w", err)
	}
	return nc, nil
}

// ClientURL is the address other processes connect to ("nats://127.0.0.1:4222"), or ""
// when the server has no listener.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// ClusterURL is the route address other cluster members dial, or "" outside a cluster.
func (e *Embedded) ClusterURL() string {
	addr := e.srv.ClusterAddr()
	if addr == nil {
		return ""
	}
	return "nats://" + addr.String()
}

// Server is the underlying NATS server, for monitoring (JetStream state, routes).
func (e *Embedded) Server() *server.Server { return e.srv }

// Shutdown stops the server and waits until it has stopped. Connections to it close.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// natsLogger sends the NATS server's log to slog: notices at debug (the server is
// chatty when it starts), warnings and errors as such.
type natsLogger struct{ log *slog.Logger }

func (l *natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Tracef(format string, v ...any)  {}
