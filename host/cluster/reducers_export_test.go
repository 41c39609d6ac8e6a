package cluster

// HaltReducers stops r as a crash would: no answers, no lease renewals, no release.
func HaltReducers(r *Reducers) { r.halt() }

// HaltWorkflows stops w as a crash would: no answers, no lease renewals, no release.
func HaltWorkflows(w *Workflows) { w.halt() }
