package cluster_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/server"
)

// A host that joins a cluster: the embedded NATS server (open to other hosts on
// 127.0.0.1:4222), the shared cache level, its nodes served on NATS, its events bridged,
// and a client that sends a computation to whichever host serves the node.
func Example() {
	ctx := context.Background()
	nats, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: "var/nats", Listen: "127.0.0.1:4222"})
	if err != nil {
		log.Fatal(err)
	}
	defer nats.Shutdown()
	nc, err := nats.Connect("host-a")
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	shared, err := cluster.NewSharedCache(ctx, nc, cluster.SharedCacheConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer shared.Close()
	h, err := host.New(ctx, host.NewConfig().WithSharedCache(shared))
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)
	if err := shared.Attach(ctx, h); err != nil { // invalidations from other hosts
		log.Fatal(err)
	}

	client := cluster.NewClient(nc, cluster.ClientConfig{AttemptTimeout: 5 * time.Second})
	srv := server.New(h, server.Options{Router: client}) // its HTTP API reaches the cluster
	if err := srv.Load(ctx, []server.NodeSpec{{Path: "bin/plugins/core.wasm"}}); err != nil {
		log.Fatal(err)
	}
	bridge, err := cluster.BridgeEvents(ctx, nc, h.Events(), cluster.BridgeConfig{HostID: "host-a"})
	if err != nil {
		log.Fatal(err)
	}
	defer bridge.Close()
	svc, err := cluster.Serve(ctx, nc, srv, cluster.ServiceConfig{HostID: "host-a"})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Stop(ctx)

	out, err := client.Compute(ctx, "core", abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte("[1,2,3]")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out.Result))
}
