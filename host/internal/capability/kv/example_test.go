package kv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/onexhost/onex-host/host/internal/capability/kv"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// Each node sees only its own namespace, and an effect attempt that fails
// has its writes undone by the rollback of its transaction.
func Example() {
	db, err := kv.NewMemory(kv.Config{}) // or kv.OpenBolt(path, kv.Config{})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()

	sessions, err := db.Namespace("session_store")
	if err != nil {
		panic(err)
	}
	billing, err := db.Namespace("billing")
	if err != nil {
		panic(err)
	}
	if err := sessions.Put(ctx, "user/1", []byte("alice")); err != nil {
		panic(err)
	}
	_, found, err := billing.Get(ctx, "user/1")
	fmt.Println("billing sees user/1:", found, err)

	c := kv.NewCompensator(db)
	m, err := tx.New(tx.Config{Compensators: map[string]tx.Compensator{tx.KindKVPut: c, tx.KindKVDelete: c}})
	if err != nil {
		panic(err)
	}
	t, err := m.Begin("session_store", 1, "")
	if err != nil {
		panic(err)
	}
	attempt := func(s kv.Store) error {
		if err := s.Put(ctx, "user/1", []byte("mallory")); err != nil {
			return err
		}
		if err := s.Put(ctx, "user/2", []byte("bob")); err != nil {
			return err
		}
		if _, err := s.Delete(ctx, "user/1"); err != nil {
			return err
		}
		return errors.New("downstream call failed")
	}
	if err := attempt(kv.WithTx(sessions, t)); err != nil {
		fmt.Println("attempt:", err)
		res, err := t.Rollback(ctx)
		fmt.Println(res.State, res.SideEffectsApplied, err)
	}

	entries, err := sessions.List(ctx, "user/", 0)
	for _, e := range entries {
		fmt.Printf("%s=%s\n", e.Key, e.Value)
	}
	fmt.Println(err)
	// Output:
	// billing sees user/1: false <nil>
	// attempt: downstream call failed
	// rolled_back 3 <nil>
	// user/1=alice
	// <nil>
}

// A bolt DB keeps its data across restarts, and locks its file meanwhile.
func ExampleOpenBolt() {
	dir, err := os.MkdirTemp("", "kv-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "kv.db")
	ctx := context.Background()

	db, err := kv.OpenBolt(path, kv.Config{})
	if err != nil {
		panic(err)
	}
	s, err := db.Namespace("counter")
	if err != nil {
		panic(err)
	}
	if err := s.Put(ctx, "hits", []byte("42")); err != nil {
		panic(err)
	}
	_, err = kv.OpenBolt(path, kv.Config{LockTimeout: 100 * time.Millisecond})
	fmt.Println(errors.Is(err, kv.ErrLocked))
	if err := db.Close(); err != nil {
		panic(err)
	}

	db, err = kv.OpenBolt(path, kv.Config{})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	s, err = db.Namespace("counter")
	if err != nil {
		panic(err)
	}
	v, found, err := s.Get(ctx, "hits")
	fmt.Println(string(v), found, err)
	// Output:
	// true
	// 42 true <nil>
}
