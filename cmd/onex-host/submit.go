package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/tracing"
)

// DefaultNATSURL is where submit looks for a cluster unless told otherwise.
const DefaultNATSURL = "nats://127.0.0.1:4222"

func newSubmitCmd(e *env) *cobra.Command {
	var (
		computation, data, inputPath, natsURL, opID string
		effect, reducerNode                         bool
		key, eventsPath, reduction                  string
		timeout, attemptTimeout                     time.Duration
		attempts                                    int
	)
	cmd := &cobra.Command{
		Use:   "submit <node> {[--type <computation|effect>] [--data <json> | --input {<file> | -}] [--effect] | --reducer --key <key> --events {<file.jsonl> | -} [--reduction <name>]} [--nats-url URL]",
		Short: "Send a computation, an effect or a reducer's events to whichever host of a NATS cluster serves the node",
		Long: "Send one request to the cluster (package host/cluster) and print the output as JSON, like\n" +
			"run does for a local plugin. One host that serves the node answers; on a timeout or when\n" +
			"no host serves it yet or the host answers 503 (retryable), the request is sent again\n" +
			"with the same operation id until --timeout (or --attempts, if set), so an effect commits\n" +
			"at most once however often it is retried (--operation-id makes a repeat of an earlier\n" +
			"submit answer with that run's output).\n\n" +
			"The cluster is reached at --nats-url (a host started with serve --nats-listen, or any\n" +
			"server of an external cluster).\n\n" +
			"With --reducer the node is a reducer: every event of --events (one JSON envelope a\n" +
			"line, as reduce reads) is sent in order for --key to the host owning the key, each\n" +
			"answered once durable (a retry of one is a duplicate, never applied twice); the output\n" +
			"is reduce's: the state after the last event, applied and duplicate counts, intents.\n" +
			"Exit status: 0 ok, 1 the operation failed or no host answered, 2 misuse.",
		Example: "  onex-host submit core --type sum_numbers --data '[1,2,3]'\n" +
			"  onex-host submit counter --reducer --key cart-1 --events events.jsonl\n" +
			"  onex-host submit fileops --effect --type write --data '{\"path\":\"/tmp/demo/a.txt\",\"content\":\"hi\"}' --operation-id write-a-1",
		Args: exactArgs("<node>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			node := args[0]
			var evs []abi.ReduceEvent
			if reducerNode {
				if key == "" || eventsPath == "" {
					return fmt.Errorf("--reducer needs --key and --events")
				}
				if effect || cmd.Flags().Changed("data") || cmd.Flags().Changed("input") || cmd.Flags().Changed("type") || opID != "" {
					return fmt.Errorf("--reducer: --type, --data, --input, --effect and --operation-id do not apply (events carry their own ids)")
				}
				var err error
				if evs, err = readEvents(e, eventsPath); err != nil {
					return err
				}
			} else if key != "" || eventsPath != "" || reduction != "" {
				return fmt.Errorf("--key, --events and --reduction need --reducer")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			// One trace across the hosts: TRACEPARENT (the OpenTelemetry convention for
			// carrying a trace context in the environment), or a new trace id.
			ctx = tracing.WithIDs(tracing.Extract(ctx, http.Header{"Traceparent": {os.Getenv("TRACEPARENT")}}))
			var in abi.ComputeInput
			var effectIn abi.EffectInput
			var err error
			if reducerNode {
				// Events only.
			} else if effect {
				if effectIn, err = buildEffectInput(e, cmd, &hostFlags{}, computation, data, inputPath); err != nil {
					return err
				}
				if opID != "" {
					effectIn.OperationID = opID
				}
			} else {
				if in, err = buildInput(e, cmd, &hostFlags{}, computation, data, inputPath); err != nil {
					return err
				}
				if opID != "" {
					in.OperationID = opID
				}
			}
			logger, err := e.logger()
			if err != nil {
				return err
			}
			nc, err := cluster.Connect(cluster.ConnectConfig{URL: natsURL, Name: "onex-host submit", Logger: logger})
			if err != nil {
				return failure{err}
			}
			defer nc.Close()
			client := cluster.NewClient(nc, cluster.ClientConfig{Attempts: attempts, AttemptTimeout: attemptTimeout})
			if reducerNode {
				return submitReduce(ctx, e, client, node, reduction, key, evs)
			}
			if effect {
				out, err := client.Effect(ctx, node, effectIn)
				if out.OperationID != "" || out.TransactionState != "" {
					_ = printJSON(e, out)
				}
				if err != nil {
					return failure{err}
				}
				return nil
			}
			out, err := client.Compute(ctx, node, in)
			if err != nil {
				return failure{err}
			}
			return printJSON(e, out)
		},
	}
	cmd.Flags().StringVarP(&computation, "type", "t", abi.DefaultComputation, "computation (or effect) to run")
	cmd.Flags().StringVarP(&data, "data", "d", "null", "input data as JSON")
	cmd.Flags().StringVarP(&inputPath, "input", "i", "", "read a ComputeInput (EffectInput) JSON object from a file, or stdin with -")
	cmd.Flags().BoolVar(&effect, "effect", false, "the node is an effect node: send an EffectInput")
	cmd.Flags().StringVar(&opID, "operation-id", "", "the operation id (default: a new UUID)")
	cmd.Flags().StringVar(&natsURL, "nats-url", DefaultNATSURL, "the cluster's NATS servers, comma-separated")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long, retries included")
	cmd.Flags().DurationVar(&attemptTimeout, "attempt-timeout", 5*time.Second, "wait this long for one host's reply before sending again")
	cmd.Flags().IntVar(&attempts, "attempts", 0, "cap how many times the request is sent (0: retry until --timeout)")
	cmd.Flags().BoolVar(&reducerNode, "reducer", false, "the node is a reducer: send --events for --key")
	cmd.Flags().StringVarP(&key, "key", "k", "", "with --reducer: the key whose state the events change")
	cmd.Flags().StringVar(&eventsPath, "events", "", "with --reducer: a JSONL file of event envelopes, or - for stdin")
	cmd.Flags().StringVar(&reduction, "reduction", "", "with --reducer: the reduction to run (default: the manifest's first)")
	cmd.MarkFlagsMutuallyExclusive("data", "input")
	return cmd
}
