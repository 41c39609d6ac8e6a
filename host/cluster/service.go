package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"

	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/tracing"
)

// ServiceName is the NATS micro service every host registers (see `nats micro ls`).
const ServiceName = "onex-host"

// Metadata keys of the service (metaHost: the host id; metaReducers: the reducer nodes
// it folds for, comma-separated) and of its endpoints (metaNode: the node), which
// Membership reads.
const (
	metaHost     = "host"
	metaReducers = "reducers"
	metaNode     = "node"
)

// ServiceConfig configures Serve. The zero value takes every default.
type ServiceConfig struct {
	// HostID names this host in replies, effect records and advisories. Default: a
	// unique id.
	HostID string
	// Version is the service version micro reports; default "0.0.0".
	Version string
	// MaxInFlight bounds the requests this host runs at once; further requests wait in
	// NATS's buffers (the node pools bound the guest calls anyway). Default 64.
	MaxInFlight int
	// Effects deduplicates effect requests by operation id. Default: Serve opens
	// EffectRecords (with HostID and defaults) when a node is an effect node. Pass the
	// same EffectRecords as server.Options.Effects so that HTTP requests share them.
	Effects *EffectRecords
	// Logger receives service events; default slog.Default().
	Logger *slog.Logger
}

// Service serves one server.Server's nodes over NATS. It is safe for concurrent use.
type Service struct {
	srv     *server.Server
	svc     micro.Service
	effects *EffectRecords
	cfg     ServiceConfig
	log     *slog.Logger
	work    chan job        // to the workers
	running sync.WaitGroup  // the workers
	serving atomic.Int64    // requests being served
	ctx     context.Context // ends when Stop gives up waiting
	cancel  context.CancelFunc
}

// Serve registers srv's loaded nodes (server.Server.Endpoints) as the endpoints of the
// micro service ServiceName on nc: subject Subject(node, operation), queue group
// QueueGroup(node). Load the nodes first; a node loaded later is served by this host only
// after a new Serve. Effect requests go through EffectRecords (ServiceConfig.Effects):
// at most one commit per operation id across the cluster. ctx bounds waiting for
// JetStream.
func Serve(ctx context.Context, nc *nats.Conn, srv *server.Server, cfg ServiceConfig) (*Service, error) {
	if cfg.HostID == "" {
		cfg.HostID = nuid.Next()
	}
	if cfg.Version == "" {
		cfg.Version = "0.0.0"
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{srv: srv, cfg: cfg, log: cfg.Logger.With("component", "cluster"), work: make(chan job)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// Long-lived workers rather than a goroutine per request: a guest call grows the
	// goroutine's stack, and a fresh goroutine would grow it again every time.
	for range cfg.MaxInFlight {
		s.running.Add(1)
		go s.worker()
	}
	endpoints := srv.Endpoints()
	s.effects = cfg.Effects
	if s.effects == nil && hasEffects(endpoints) {
		var err error
		s.effects, err = NewEffectRecords(ctx, nc, EffectRecordsConfig{HostID: cfg.HostID, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
	}
	meta := map[string]string{metaHost: cfg.HostID}
	if folds := srv.ReducerFolds(); len(folds) > 0 {
		meta[metaReducers] = strings.Join(slices.Sorted(maps.Keys(folds)), ",")
	}
	svc, err := micro.AddService(nc, micro.Config{
		Name: ServiceName, Version: cfg.Version, Description: "ONEX nodes on onex-host", Metadata: meta,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: registering the service: %w", err)
	}
	s.svc = svc
	for _, e := range endpoints {
		err := svc.AddEndpoint(endpointName(e.Node)+"-"+e.Operation, s.handler(e),
			micro.WithEndpointSubject(Subject(e.Node, e.Operation)),
			micro.WithEndpointQueueGroup(QueueGroup(e.Node)),
			micro.WithEndpointMetadata(map[string]string{metaNode: e.Node, "operation": e.Operation}))
		if err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("cluster: endpoint %s/%s: %w", e.Node, e.Operation, err)
		}
	}
	// Once Serve returns, the servers know the endpoints: the host takes requests.
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		_ = svc.Stop()
		return nil, fmt.Errorf("cluster: registering the service: %w", err)
	}
	s.log.Info("serving nodes on NATS", "host", cfg.HostID, "endpoints", len(endpoints))
	return s, nil
}

func hasEffects(es []server.Endpoint) bool {
	for _, e := range es {
		if e.Operation == server.OperationEffect {
			return true
		}
	}
	return false
}

// HostID is the id this host serves under.
func (s *Service) HostID() string { return s.cfg.HostID }

// Stats are the micro service's per-endpoint counts (requests, errors, processing time).
func (s *Service) Stats() micro.Stats { return s.svc.Stats() }

// job is one request for a worker.
type job struct {
	endpoint server.Endpoint
	req      micro.Request
}

// handler hands each request to a free worker, waiting for one while all MaxInFlight are
// busy (further requests wait in NATS's buffers meanwhile).
func (s *Service) handler(e server.Endpoint) micro.Handler {
	return micro.HandlerFunc(func(req micro.Request) {
		select {
		case s.work <- job{endpoint: e, req: req}:
		case <-s.ctx.Done():
			// Stopping: the caller times out and retries elsewhere.
		}
	})
}

// worker serves requests until the service stops.
func (s *Service) worker() {
	defer s.running.Done()
	for {
		select {
		case j := <-s.work:
			s.serving.Add(1)
			s.serve(j.endpoint, j.req)
			s.serving.Add(-1)
		case <-s.ctx.Done():
			return
		}
	}
}

// serve answers one request, and logs it (at debug level, as the HTTP API logs its
// requests) with the request's trace and span ids, as every record logged while serving
// it.
func (s *Service) serve(e server.Endpoint, req micro.Request) {
	start := time.Now()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	// The caller's trace context (traceparent) is continued: a span, or new ids.
	ctx, end := s.srv.StartRequest(tracing.Extract(ctx, http.Header(req.Headers())), e.Node, e.Operation)
	if ms, err := strconv.ParseInt(req.Headers().Get(HeaderTimeout), 10, 64); err == nil && ms > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		defer cancel()
	}
	var (
		resp  server.Response
		dedup bool
	)
	if e.Operation == server.OperationEffect && s.effects != nil {
		resp, dedup = s.effects.Run(ctx, e.Node, req.Data(), func(ctx context.Context) server.Response {
			return s.srv.Invoke(ctx, e.Node, e.Operation, req.Data())
		})
	} else {
		resp = s.srv.Invoke(ctx, e.Node, e.Operation, req.Data())
	}
	end(resp)
	h := micro.Headers{HeaderStatus: {strconv.Itoa(resp.Status)}, HeaderHost: {s.cfg.HostID}}
	if dedup {
		h[HeaderDeduplicated] = []string{"true"}
	}
	if err := req.Respond(resp.Body, micro.WithHeaders(h)); err != nil {
		s.log.WarnContext(ctx, "reply not sent", "node", e.Node, "operation", e.Operation, "error", err)
	}
	s.log.DebugContext(ctx, "request", "transport", "nats", "subject", req.Subject(), "node", e.Node,
		"operation", e.Operation, "status", resp.Status, "deduplicated", dedup,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
}

// Stop unregisters the endpoints, so new requests go to other hosts, and waits for the
// requests in flight until ctx ends; then cancels them (effects roll back) and waits for
// them to return. Their replies are sent while the connection is open.
func (s *Service) Stop(ctx context.Context) error {
	err := s.svc.Stop()
	// The endpoints are gone: no new job can arrive. Workers finish the one they have
	// (a worker blocks only in serve) and stop once ctx is cancelled.
	idle := make(chan struct{})
	go func() {
		defer close(idle)
		for s.serving.Load() > 0 {
			time.Sleep(time.Millisecond)
		}
	}()
	select {
	case <-idle:
	case <-ctx.Done():
	}
	s.cancel()
	s.running.Wait()
	<-idle
	if err != nil {
		return fmt.Errorf("cluster: stopping the service: %w", err)
	}
	return nil
}
