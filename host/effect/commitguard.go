package effect

import (
	"context"

	"github.com/onexhost/onex-host/abi"
)

// CommitGuard decides, after an effect attempt's guest succeeded and before its
// transaction commits, whether the attempt may commit. out is the output the effect will
// return if it commits (Result set, TransactionState committed). An error rolls the
// attempt back and fails the effect with host.ErrUnavailable, without a retry: whatever the
// guard guards (package host/cluster records the operation id so that a repeated request
// is answered instead of run twice) no longer holds.
//
// A guard runs on the effect's goroutine; it should return within the effect's deadline.
type CommitGuard func(ctx context.Context, out abi.EffectOutput) error

type commitGuardKey struct{}

// WithCommitGuard returns ctx carrying g for the effects run under it (Node.Process
// calls g before each commit, before the journal's commit point). Effects run without
// transactions (NoTransaction) have nothing to commit and never call g. Guards compose:
// when ctx already carries one, g runs after it, and only if it returned nil.
func WithCommitGuard(ctx context.Context, g CommitGuard) context.Context {
	if outer := commitGuard(ctx); outer != nil {
		inner := g
		g = func(ctx context.Context, out abi.EffectOutput) error {
			if err := outer(ctx, out); err != nil {
				return err
			}
			return inner(ctx, out)
		}
	}
	return context.WithValue(ctx, commitGuardKey{}, g)
}

// commitGuard returns the guard ctx carries, or nil.
func commitGuard(ctx context.Context) CommitGuard {
	g, _ := ctx.Value(commitGuardKey{}).(CommitGuard)
	return g
}
