package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/events"
)

const (
	// EventSubjects are the subjects events travel on: an event's subject is its topic
	// (onex.evt.<domain>.<name>.v<N>).
	EventSubjects = "onex.evt.>"
	// EventStream is the JetStream stream of the durable topics.
	EventStream = "ONEX_EVENTS"
	// HeaderOrigin names the host that published an event.
	HeaderOrigin = "Onex-Origin"
)

// BridgeConfig configures a Bridge. The zero value takes every default.
type BridgeConfig struct {
	// HostID names this host as the events' origin; default a unique id.
	HostID string
	// DurableTopics are topic patterns ("onex.evt.orders.>") whose events are also kept
	// in the JetStream stream EventStream, for consumer groups (Bridge.Consume). Default
	// none: events go to the subscribers connected at the time, like the in-process bus.
	DurableTopics []string
	// Retention is how long the stream keeps events; default 24 h.
	Retention time.Duration
	// Replicas of the stream in a JetStream cluster; default 1.
	Replicas int
	// Buffer is the queue of events waiting to go out; default 4096. Publishing blocks
	// while it is full, so no event is dropped on the way out.
	Buffer int
	// Logger receives failures; default slog.Default().
	Logger *slog.Logger
}

// Bridge carries one host's event bus over NATS: every event published on the local bus
// goes out on its topic's subject (JetStream-acknowledged for durable topics), and every
// event another host published comes into the local bus, so a subscriber of any host's
// bus (or its /v1/events stream) sees the events of all. Events arrive exactly as sent:
// envelope id, timestamp, headers and payload unchanged. It is safe for concurrent use.
type Bridge struct {
	nc     *nats.Conn
	bus    *events.Bus
	js     jetstream.JetStream
	cfg    BridgeConfig
	log    *slog.Logger
	out    *events.Subscription
	in     *nats.Subscription
	stream jetstream.Stream

	// injected holds the envelope ids of events this bridge put on the local bus, so
	// that it does not send them back out.
	injected sync.Map
}

// BridgeEvents starts carrying bus over nc. ctx bounds creating the stream of durable
// topics (JetStream may still be starting).
func BridgeEvents(ctx context.Context, nc *nats.Conn, bus *events.Bus, cfg BridgeConfig) (*Bridge, error) {
	if cfg.HostID == "" {
		cfg.HostID = nuid.Next()
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Bridge{nc: nc, bus: bus, cfg: cfg, log: cfg.Logger.With("component", "event-bridge")}
	if len(cfg.DurableTopics) > 0 {
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, fmt.Errorf("cluster: JetStream: %w", err)
		}
		b.js = js
		b.stream, err = whenReady(ctx, "event stream "+EventStream, func(ctx context.Context) (jetstream.Stream, error) {
			return js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
				Name: EventStream, Description: "onex-host: durable event topics",
				Subjects: cfg.DurableTopics, MaxAge: cfg.Retention, Replicas: max(cfg.Replicas, 1),
				Duplicates: 2 * time.Minute,
			})
		})
		if err != nil {
			return nil, err
		}
	}
	in, err := nc.Subscribe(EventSubjects, b.receive)
	if err != nil {
		return nil, fmt.Errorf("cluster: subscribing to %s: %w", EventSubjects, err)
	}
	b.in = in
	out, err := bus.Subscribe(EventSubjects, b.send, events.SubscribeOptions{Name: "nats-bridge", Buffer: cfg.Buffer, Policy: events.Block})
	if err != nil {
		_ = in.Unsubscribe()
		return nil, fmt.Errorf("cluster: subscribing to the local bus: %w", err)
	}
	b.out = out
	// Once BridgeEvents returns, the servers know the subscription: an event another
	// host publishes from then on reaches this one.
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		b.Close()
		return nil, fmt.Errorf("cluster: subscribing to %s: %w", EventSubjects, err)
	}
	return b, nil
}

// send publishes a local event to NATS, unless it came from NATS.
func (b *Bridge) send(ctx context.Context, e abi.Event) error {
	if _, ok := b.injected.LoadAndDelete(e.EnvelopeID); ok {
		return nil
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(e.Topic)
	msg.Data = data
	msg.Header.Set(HeaderOrigin, b.cfg.HostID)
	msg.Header.Set(jetstream.MsgIDHeader, e.EnvelopeID) // JetStream drops duplicates
	if b.js != nil && matchesAny(b.cfg.DurableTopics, e.Topic) {
		if _, err := b.js.PublishMsg(ctx, msg); err != nil {
			b.log.Error("a durable event was not stored", "topic", e.Topic, "envelope_id", e.EnvelopeID, "error", err)
			return err
		}
		return nil
	}
	if err := b.nc.PublishMsg(msg); err != nil {
		b.log.Error("an event was not sent", "topic", e.Topic, "envelope_id", e.EnvelopeID, "error", err)
		return err
	}
	return nil
}

// receive puts another host's event on the local bus.
func (b *Bridge) receive(msg *nats.Msg) {
	if msg.Header.Get(HeaderOrigin) == b.cfg.HostID {
		return
	}
	var e abi.Event
	if err := json.Unmarshal(msg.Data, &e); err != nil || e.EnvelopeID == "" {
		b.log.Warn("ignoring a malformed event", "subject", msg.Subject, "error", err)
		return
	}
	b.injected.Store(e.EnvelopeID, struct{}{})
	if err := b.bus.Publish(context.Background(), e); err != nil {
		b.injected.Delete(e.EnvelopeID)
		b.log.Warn("an event from another host was not delivered locally", "topic", e.Topic, "error", err)
	}
}

// Consumer is a running consumer-group subscription (Bridge.Consume).
type Consumer struct{ cc jetstream.ConsumeContext }

// Stop stops receiving; unacknowledged events are redelivered to the group's other
// members.
func (c *Consumer) Stop() { c.cc.Stop() }

// ConsumeConfig configures a consumer group. The zero value takes every default.
type ConsumeConfig struct {
	// AckWait is how long an event may take before it is redelivered; default 30 s.
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one event; default 5.
	MaxDeliver int
	// NakDelay is the wait before redelivering an event whose handler failed; default 1 s.
	NakDelay time.Duration
}

// Consume delivers the durable events matching pattern to handler, each event to one
// member of the consumer group named group (on any host): an event is acknowledged when
// handler returns nil, and redelivered after NakDelay when it fails (up to MaxDeliver
// times). Events published while no member ran are delivered when one starts. pattern
// must fall under BridgeConfig.DurableTopics.
func (b *Bridge) Consume(ctx context.Context, pattern, group string, handler events.Handler, cfg ConsumeConfig) (*Consumer, error) {
	if b.stream == nil {
		return nil, errors.New("cluster: no durable topics are configured (BridgeConfig.DurableTopics)")
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = 5
	}
	if cfg.NakDelay <= 0 {
		cfg.NakDelay = time.Second
	}
	cons, err := b.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: group, FilterSubject: pattern, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: cfg.AckWait, MaxDeliver: cfg.MaxDeliver,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: consumer group %s on %s: %w", group, pattern, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var e abi.Event
		if err := json.Unmarshal(msg.Data(), &e); err != nil {
			b.log.Warn("terminating a malformed durable event", "subject", msg.Subject(), "error", err)
			_ = msg.Term()
			return
		}
		if err := handler(context.Background(), e); err != nil {
			_ = msg.NakWithDelay(cfg.NakDelay)
			return
		}
		_ = msg.Ack()
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: consuming %s: %w", group, err)
	}
	return &Consumer{cc: cc}, nil
}

// Close stops the bridge: no more events in or out.
func (b *Bridge) Close() {
	_ = b.in.Unsubscribe()
	b.out.Close()
}

// matchesAny reports whether subject matches one of the NATS patterns.
func matchesAny(patterns []string, subject string) bool {
	for _, p := range patterns {
		if matchSubject(p, subject) {
			return true
		}
	}
	return false
}

// matchSubject matches a NATS subject against a pattern with * (one token) and > (the
// rest).
func matchSubject(pattern, subject string) bool {
	pt, st := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, p := range pt {
		switch {
		case p == ">":
			return i < len(st)
		case i >= len(st):
			return false
		case p != "*" && p != st[i]:
			return false
		}
	}
	return len(pt) == len(st)
}
