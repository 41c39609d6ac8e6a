package journal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onexhost/onex-host/host/internal/journal"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// A host journals an effect that writes two files, crashes before ending it,
// and on restart rolls it back from the journal alone.
func Example() {
	dir, err := os.MkdirTemp("", "journal-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "journal.db")

	restore := tx.CompensatorFunc(func(_ context.Context, op tx.Operation) error {
		fmt.Printf("restore %s to %q\n", op.Target, op.Compensation.Previous)
		return nil
	})
	compensators := map[string]tx.Compensator{tx.KindFSWrite: restore}

	// First run: the journal observes the manager's transactions.
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		panic(err)
	}
	m, err := tx.New(tx.Config{Compensators: compensators, Observer: j})
	if err != nil {
		panic(err)
	}
	t, err := m.Begin("file_writer", 1, "")
	if err != nil {
		panic(err)
	}
	for _, target := range []string{"/srv/a", "/srv/b"} {
		op := tx.Operation{
			Kind:         tx.KindFSWrite,
			Target:       target,
			Compensation: &tx.Compensation{Existed: true, Previous: []byte("old")},
		}
		// The intent is on disk before the write is performed.
		if err := t.Apply(op, func() error { return nil }); err != nil {
			panic(err)
		}
	}
	j.Close() // the crash: neither Commit nor Rollback ran

	// Restart: recover before accepting calls.
	j, err = journal.Open(path, journal.Options{})
	if err != nil {
		panic(err)
	}
	defer j.Close()
	incomplete, err := j.Incomplete()
	if err != nil {
		panic(err)
	}
	for _, snap := range incomplete {
		fmt.Println("recovering", snap.Node, snap.State, len(snap.Operations), "operations")
		res, err := journal.Replay(context.Background(), snap, compensators, 0)
		fmt.Println(res.State, err)
		if err := j.Resolve(res); err != nil {
			panic(err)
		}
	}
	incomplete, err = j.Incomplete()
	fmt.Println(len(incomplete), err)
	// Output:
	// recovering file_writer active 2 operations
	// restore /srv/b to "old"
	// restore /srv/a to "old"
	// rolled_back <nil>
	// 0 <nil>
}
