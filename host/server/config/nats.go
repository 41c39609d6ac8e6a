package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// NATS modes.
const (
	// NATSEmbedded runs a NATS server inside onex-host (the default): in-process
	// connections only unless nats.listen is set; JetStream under data_dir/nats.
	NATSEmbedded = "embedded"
	// NATSExternal connects to the cluster at nats.url.
	NATSExternal = "external"
	// NATSOff serves HTTP only, as before NATS.
	NATSOff = "off"
)

// NATS is the nats section: how this host joins a cluster (package host/cluster).
type NATS struct {
	// Mode is embedded, external or off. Default embedded (off when data_dir is "",
	// since JetStream needs a directory and the OS temp directory is not used).
	Mode string `yaml:"mode"`
	// URL lists the servers of an external cluster, comma-separated; external only.
	URL string `yaml:"url"`
	// CredsFile, User with PasswordEnv, or TokenEnv authenticate: with an external
	// cluster, the connection; embedded, the clients of nats.listen. Secrets come from
	// environment variables, never from this file, and are never logged.
	CredsFile   string `yaml:"creds_file"`
	User        string `yaml:"user"`
	PasswordEnv string `yaml:"password_env"`
	TokenEnv    string `yaml:"token_env"`
	// TLS files for an external cluster.
	TLS NATSTLS `yaml:"tls"`
	// Listen opens the embedded server's client listener (host:port). Default "": none.
	Listen string `yaml:"listen"`
	// ServerName names the embedded server; cluster members need distinct names.
	ServerName string `yaml:"server_name"`
	// Cluster makes the embedded server a member of a NATS cluster.
	Cluster NATSCluster `yaml:"cluster"`
	// LeafRemotes connects the embedded server as a leaf node to these URLs.
	LeafRemotes []string `yaml:"leaf_remotes"`
	// HostID names this host in the cluster. Default: the machine's host name and the
	// process id.
	HostID string `yaml:"host_id"`
	// SharedCache turns the JetStream second cache level on. Default true.
	SharedCache *bool `yaml:"shared_cache"`
	// CacheLease is how long a host computing a key keeps the others waiting. Default
	// 10s.
	CacheLease Duration `yaml:"cache_lease"`
	// Replicas of the buckets and streams in a JetStream cluster. Default 1.
	Replicas int `yaml:"replicas"`
	// BreakerQuorum, when positive, opens this host's breaker of a service when at least
	// this many other hosts report theirs open (see cluster.AdvisoryConfig.Quorum).
	// Default 0: breakers follow only this host's own failures.
	BreakerQuorum int `yaml:"breaker_quorum"`
	// DurableTopics are event topic patterns (onex.evt.orders.>) kept in a JetStream
	// stream for consumer groups. Default none.
	DurableTopics []string `yaml:"durable_topics"`
}

// NATSTLS names TLS files.
type NATSTLS struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// NATSCluster is an embedded server's cluster membership.
type NATSCluster struct {
	Name   string   `yaml:"name"`
	Listen string   `yaml:"listen"`
	Routes []string `yaml:"routes"`
}

// NATSMode returns the effective mode.
func (f *File) NATSMode() string {
	switch {
	case f.NATS.Mode != "":
		return f.NATS.Mode
	case f.DataDir == "":
		return NATSOff
	default:
		return NATSEmbedded
	}
}

// NATSStoreDir is the embedded server's JetStream directory: data_dir/nats.
func (f *File) NATSStoreDir() string { return filepath.Join(f.path(f.DataDir), "nats") }

// NATSSharedCache reports whether the shared cache level is on.
func (f *File) NATSSharedCache() bool { return f.NATS.SharedCache == nil || *f.NATS.SharedCache }

// NATSCacheLease is the shared cache's lease (0: the cluster package's default).
func (f *File) NATSCacheLease() time.Duration { return time.Duration(f.NATS.CacheLease) }

// NATSCredsFile is the credentials file, resolved against the config's directory.
func (f *File) NATSCredsFile() string { return f.path(f.NATS.CredsFile) }

// NATSTLSFiles are the TLS files, resolved against the config's directory.
func (f *File) NATSTLSFiles() NATSTLS {
	return NATSTLS{CA: f.path(f.NATS.TLS.CA), Cert: f.path(f.NATS.TLS.Cert), Key: f.path(f.NATS.TLS.Key)}
}

// NATSSecrets reads the password and token from their environment variables.
func (f *File) NATSSecrets() (password, token string, err error) {
	read := func(field, name string) (string, error) {
		if name == "" {
			return "", nil
		}
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", fieldErr(field, "environment variable %s is not set", name)
		}
		return v, nil
	}
	if password, err = read("nats.password_env", f.NATS.PasswordEnv); err != nil {
		return "", "", fmt.Errorf("config: %w", err)
	}
	if token, err = read("nats.token_env", f.NATS.TokenEnv); err != nil {
		return "", "", fmt.Errorf("config: %w", err)
	}
	return password, token, nil
}

// checkNATS checks the nats section.
func (f *File) checkNATS() error {
	n := f.NATS
	mode := f.NATSMode()
	switch mode {
	case NATSEmbedded, NATSExternal, NATSOff:
	default:
		return fieldErr("nats.mode", "%q is not embedded, external or off", n.Mode)
	}
	if mode == NATSExternal && n.URL == "" {
		return fieldErr("nats.url", "external mode needs the cluster's URL (nats://host:4222)")
	}
	if mode != NATSExternal && n.URL != "" {
		return fieldErr("nats.url", "set only in external mode (mode: external)")
	}
	if mode == NATSEmbedded && f.DataDir == "" {
		return fieldErr("nats.mode", "the embedded server keeps JetStream under data_dir, which is \"\"")
	}
	if mode != NATSEmbedded && (n.Listen != "" || n.Cluster.Listen != "" || len(n.Cluster.Routes) > 0 || len(n.LeafRemotes) > 0) {
		return fieldErr("nats", "listen, cluster and leaf_remotes configure the embedded server (mode: embedded)")
	}
	if n.Listen != "" {
		loopback, err := checkAddr("nats.listen", n.Listen)
		if err != nil {
			return err
		}
		// Whoever reaches the NATS listener can invoke every node: like the HTTP API,
		// an open address needs authentication.
		if !loopback && n.User == "" && n.TokenEnv == "" {
			return fieldErr("nats.listen", "%q is not loopback and NATS clients are not authenticated (set user and password_env, or token_env)", n.Listen)
		}
	}
	for i, p := range n.DurableTopics {
		if !strings.HasPrefix(p, "onex.evt.") || strings.ContainsAny(p, " \t") {
			return fieldErr(fmt.Sprintf("nats.durable_topics[%d]", i), "%q is not an event topic pattern (onex.evt.<domain>.>)", p)
		}
	}
	for i, u := range append(append([]string{}, n.Cluster.Routes...), n.LeafRemotes...) {
		field := fmt.Sprintf("nats.cluster.routes[%d]", i)
		if i >= len(n.Cluster.Routes) {
			field = fmt.Sprintf("nats.leaf_remotes[%d]", i-len(n.Cluster.Routes))
		}
		if pu, err := url.Parse(u); err != nil || pu.Host == "" {
			return fieldErr(field, "%q: want nats://host:port", u)
		}
	}
	if (n.Cluster.Listen != "" || len(n.Cluster.Routes) > 0) && (n.Cluster.Name == "" || n.Cluster.Listen == "") {
		return fieldErr("nats.cluster", "a cluster member needs name and listen")
	}
	if n.User != "" && n.PasswordEnv == "" {
		return fieldErr("nats.password_env", "user %q needs a password from an environment variable", n.User)
	}
	if n.Replicas < 0 || n.Replicas > 5 {
		return fieldErr("nats.replicas", "%d is not 1 to 5", n.Replicas)
	}
	if n.BreakerQuorum < 0 {
		return fieldErr("nats.breaker_quorum", "%d is negative", n.BreakerQuorum)
	}
	if n.CacheLease < 0 {
		return fieldErr("nats.cache_lease", "%s is negative", n.CacheLease)
	}
	return nil
}
