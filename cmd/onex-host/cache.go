package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server/config"
)

// newCacheCmd is `onex-host cache ls|prune|clear`: the on-disk compilation cache.
func newCacheCmd(e *env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "cache {ls | prune | clear}",
		Short: "List, prune or clear the compilation cache",
		Long: "Every host keeps compiled plugins in an on-disk cache (--cache-dir; default\n" +
			"$ONEX_HOST_CACHE_DIR, else onex-host/wazero under the user's cache directory) so that\n" +
			"loading a plugin again takes milliseconds instead of seconds. After each compilation a\n" +
			"host deletes the least recently used modules until the cache fits its limit\n" +
			"($ONEX_HOST_CACHE_MAX bytes, default 512MiB; negative: no limit).",
		Args: exactArgs("{ls | prune | clear}", 0),
	}
	cmd.PersistentFlags().StringVar(&dir, "cache-dir", host.DefaultCacheDir(), "compilation cache directory")

	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the compiled modules, most recently used first, and the total size",
		Args:  exactArgs("no arguments", 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := host.CacheDirFiles(dir)
			if err != nil {
				return failure{err}
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LAST USE\tSIZE\tFILE")
			var total int64
			for _, f := range files {
				total += f.Size
				fmt.Fprintf(tw, "%s\t%s\t%s\n", f.LastUse.Local().Format(time.DateTime), formatSize(int(f.Size)), f.Name)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%d modules, %s in %s (limit %s)\n", len(files), formatSize(int(total)), dir, limitString(host.DefaultCacheDirMaxBytes()))
			return err
		},
	}

	var max string
	prune := &cobra.Command{
		Use:   "prune [--max SIZE]",
		Short: "Delete the least recently used modules until the cache fits SIZE",
		Args:  exactArgs("no arguments", 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			limit := host.DefaultCacheDirMaxBytes()
			if cmd.Flags().Changed("max") {
				n, err := config.ParseSize(max)
				if err != nil {
					return fmt.Errorf("cache prune: invalid --max %q: want a size such as 256MiB, or 0", max)
				}
				limit = int64(n)
			}
			if limit < 0 {
				return fmt.Errorf("cache prune: the cache has no limit ($ONEX_HOST_CACHE_MAX is negative): give --max")
			}
			p, err := host.PruneCacheDir(dir, limit)
			return pruned(e, p, err)
		},
	}
	prune.Flags().StringVar(&max, "max", "", "size to prune to, e.g. 256MiB (default: the cache's limit)")

	clear := &cobra.Command{
		Use:   "clear",
		Short: "Delete every compiled module",
		Args:  exactArgs("no arguments", 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := host.ClearCacheDir(dir)
			return pruned(e, p, err)
		},
	}
	cmd.AddCommand(ls, prune, clear)
	return cmd
}

// pruned prints what a prune or clear removed.
func pruned(e *env, p host.CachePruned, err error) error {
	fmt.Fprintf(e.stdout, "removed %d modules (%s); %s left\n", p.Files, formatSize(int(p.Bytes)), formatSize(int(p.Left)))
	if err != nil {
		return failure{err}
	}
	return nil
}

// limitString renders a cache limit.
func limitString(n int64) string {
	if n < 0 {
		return "none"
	}
	return formatSize(int(n))
}
