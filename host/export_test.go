package host

// BackgroundSnapshotEnded returns a channel closed when p's background snapshot
// (snapshot.go) has been taken or has failed, or nil when none was started.
func BackgroundSnapshotEnded(p *Plugin) <-chan struct{} { return p.lazySnap.ended() }
