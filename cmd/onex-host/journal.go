package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/host"
)

func newJournalCmd(e *env) *cobra.Command {
	var (
		hf        hostFlags
		states    []string
		olderThan time.Duration
		asJSON    bool
		remote    remoteJournal
		node      string
		opID      string
		limit     int
	)
	cmd := &cobra.Command{
		Use:   "journal {list | show <id> | recover [<plugin.wasm>...] | retry <id> [<plugin.wasm>...] | compact}",
		Short: "Inspect and repair the effect journal: what a crash left, what recovery did",
		Long: "Every effect attempt is journaled in <data-dir>/journal.db before its side effects\n" +
			"happen, so an effect interrupted by a crash (kill -9, power cut) is rolled back when the\n" +
			"host next starts: `serve` and `run` recover automatically before doing anything else.\n\n" +
			"  list                  transactions, newest first (--state active|committed|rolled_back|failed,\n" +
			"                        --effect-node, --operation-id, --limit)\n" +
			"  show <id>             one transaction: operations with their before-images, outbox, recovery\n" +
			"  recover [plugins]     roll back what a crash left open and republish unpublished events now;\n" +
			"                        guest and HTTP compensations need their plugins: pass them, with grants\n" +
			"  retry <id> [plugins]  run a failed rollback's compensations again\n" +
			"  compact               delete finished records older than --older-than (failed ones stay)\n\n" +
			"The journal file is locked while a host runs: with --server URL, list and show read the\n" +
			"running host's journal through its admin API (GET /v1/journal; the admin token comes\n" +
			"from --token or $ONEX_TOKEN), read-only.\n\n" +
			"Exit status: 0 ok, 1 something failed (a compensation, the journal), 2 misuse.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			filter := host.JournalFilter{States: states, Node: node, OperationID: opID, Limit: limit}
			if remote.url != "" {
				return remote.run(ctx, e, args, filter, asJSON)
			}
			logger, err := e.logger()
			if err != nil {
				return err
			}
			if hf.dataDir == "" {
				return fmt.Errorf("--data-dir is empty: there is no journal")
			}
			h, err := host.New(ctx, host.NewConfig().WithDataDir(hf.dataDir).WithKVPath(hf.kvPath).
				WithCacheDir(hf.cacheDir).WithLogger(logger))
			if err != nil {
				return failure{err}
			}
			defer h.Close(context.Background())
			loadPlugins := func(paths []string) error {
				for _, path := range paths {
					pc, err := hf.pluginConfig(path)
					if err != nil {
						return err
					}
					if _, err := h.LoadFile(ctx, path, pc); err != nil {
						return failure{err}
					}
				}
				return nil
			}
			switch verb, rest := args[0], args[1:]; verb {
			case "list":
				recs, err := h.JournalRecords(filter)
				if err != nil {
					return failure{err}
				}
				return printRecords(e, recs, asJSON)
			case "show":
				if len(rest) != 1 {
					return fmt.Errorf("journal show: want one transaction id")
				}
				rec, err := h.JournalRecord(rest[0])
				if err != nil {
					return failure{err}
				}
				return printJSON(e, rec)
			case "recover":
				if err := loadPlugins(rest); err != nil {
					return err
				}
				r, err := h.Recover(ctx)
				if err != nil {
					return failure{err}
				}
				fmt.Fprintf(e.stdout, "rolled back %d, failed %d, republished %d\n", r.RolledBack, r.Failed, r.Republished)
				if len(r.Errors) > 0 {
					return failure{fmt.Errorf("recovery: %s", strings.Join(r.Errors, "; "))}
				}
				return nil
			case "retry":
				if len(rest) < 1 {
					return fmt.Errorf("journal retry: want a transaction id")
				}
				if err := loadPlugins(rest[1:]); err != nil {
					return err
				}
				rec, err := h.RetryRollback(ctx, rest[0])
				if perr := printJSON(e, rec); perr != nil {
					return perr
				}
				if err != nil {
					return failure{err}
				}
				return nil
			case "compact":
				n, err := h.CompactJournal(olderThan)
				if err != nil {
					return failure{err}
				}
				fmt.Fprintf(e.stdout, "removed %d records\n", n)
				return nil
			default:
				return fmt.Errorf("journal: unknown verb %q (want list, show, recover, retry or compact)", verb)
			}
		},
	}
	hf.register(cmd)
	cmd.Flags().StringArrayVar(&states, "state", nil, "list: only these states (repeatable)")
	cmd.Flags().DurationVar(&olderThan, "older-than", 24*time.Hour, "compact: the age of the records to delete")
	cmd.Flags().BoolVar(&asJSON, "json", false, "list: print JSON")
	cmd.Flags().StringVar(&node, "effect-node", "", "list: only this effect node's transactions")
	cmd.Flags().StringVar(&opID, "operation-id", "", "list: only the transactions (attempts) of this effect operation id")
	cmd.Flags().IntVar(&limit, "limit", 0, "list: at most this many, the newest (0: all; with --server the server's default, 100)")
	cmd.Flags().StringVar(&remote.url, "server", "", "list, show: read the journal of the host serving at this URL (admin API)")
	cmd.Flags().StringVar(&remote.token, "token", "", "with --server: the admin bearer token (default $ONEX_TOKEN)")
	return cmd
}

// printRecords prints journal records as a table, or as JSON.
func printRecords(e *env, recs []host.JournalRecord, asJSON bool) error {
	if asJSON {
		return printJSON(e, recs)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNODE\tOPERATION\tATTEMPT\tSTATE\tOPS\tPUBLISHED\tUPDATED")
	for _, r := range recs {
		s := r.Snapshot
		op := s.OperationID
		if op == "" {
			op = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%d\t%v\t%s\n", s.ID, s.Node, op, s.Attempt, s.State, len(s.Operations),
			r.Published, r.UpdatedAt.Format(time.RFC3339))
	}
	return w.Flush()
}
