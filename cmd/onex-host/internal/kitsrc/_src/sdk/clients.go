package sdk

import (
	"io/fs"

	"github.com/onexhost/onex-host/abi"
)

// The typed capability clients. Each method performs one abi.Op capability operation
// through the host's call import (abi/SPEC.md section 8) and blocks until the host
// answers. They work only inside an effect handler (Effect, EffectRaw) of a plugin whose
// manifest lists the capability and whose operator granted it; from anywhere else the
// host answers abi.StatusUnsupported or abi.StatusDenied.
//
// Every failure is a *CapabilityError holding the host's status: abi.StatusDenied for a
// capability, directory or host not granted, or a path escaping its root;
// abi.StatusNotFound; abi.StatusTooLarge; abi.StatusUnavailable (retryable: a service
// failed or its circuit breaker is open); abi.StatusTimeout; abi.StatusInvalidInput for a
// request the host cannot decode; abi.StatusError otherwise. Returned byte slices and
// values are the caller's own.
//
// Mutating operations (writes, deletes, moves, copies, mkdir, puts, HTTP requests,
// publications) are recorded in the attempt's transaction before they run and undone if
// it rolls back; published events are held until it commits.
//
// The clients hold no state: their zero values are ready, and FS, KV, HTTP and Events
// are the values to use. They are safe for concurrent use by multiple goroutines; calls
// are serialized.

// FSClient performs file operations inside the directories the operator granted. Paths
// are absolute and named as the operator granted them (for a grant of /srv/data:
// /srv/data/in.json); ".." and symbolic links leading outside a grant are refused.
// Needs abi.CapabilityFS. Safe for concurrent use by multiple goroutines.
type FSClient struct{}

// FS is the fs capability client.
var FS FSClient

// Read returns the whole file at path (abi.OpFSRead), up to the host's size limit.
func (FSClient) Read(path string) ([]byte, error) {
	var resp abi.FSReadResponse
	if err := callHost(abi.OpFSRead, abi.FSReadRequest{Path: path}, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// Write replaces or creates the file at path with data, atomically (abi.OpFSWrite), with
// the host's default permissions (0644). A rollback restores the previous content, or
// deletes a file the write created.
func (FSClient) Write(path string, data []byte) error {
	return FS.WriteMode(path, data, 0)
}

// WriteMode is Write with the file's permission bits; only mode.Perm() is sent, and 0
// means the host's default (0644).
func (FSClient) WriteMode(path string, data []byte, mode fs.FileMode) error {
	if data == nil {
		data = []byte{} // "" rather than null: an empty file
	}
	return callHost(abi.OpFSWrite, abi.FSWriteRequest{Path: path, Data: data, Mode: uint32(mode.Perm())}, nil)
}

// Delete removes the file at path (abi.OpFSDelete) and reports whether it existed; a
// missing file is not an error. A rollback restores the previous content.
func (FSClient) Delete(path string) (existed bool, err error) {
	var resp abi.FSDeleteResponse
	if err := callHost(abi.OpFSDelete, abi.FSPathRequest{Path: path}, &resp); err != nil {
		return false, err
	}
	return resp.Existed, nil
}

// Move renames from to to, replacing to (abi.OpFSMove).
func (FSClient) Move(from, to string) error {
	return callHost(abi.OpFSMove, abi.FSMoveRequest{From: from, To: to}, nil)
}

// Copy copies the file from to to, replacing to (abi.OpFSCopy).
func (FSClient) Copy(from, to string) error {
	return callHost(abi.OpFSCopy, abi.FSMoveRequest{From: from, To: to}, nil)
}

// List returns the entries of the directory at path, sorted by name (abi.OpFSList).
func (FSClient) List(path string) ([]abi.FSEntry, error) {
	var resp abi.FSListResponse
	if err := callHost(abi.OpFSList, abi.FSPathRequest{Path: path}, &resp); err != nil {
		return nil, err
	}
	return resp.Entries, nil
}

// Mkdir creates the directory at path, and its missing parents when parents is true
// (abi.OpFSMkdir).
func (FSClient) Mkdir(path string, parents bool) error {
	return callHost(abi.OpFSMkdir, abi.FSMkdirRequest{Path: path, Parents: parents}, nil)
}

// KVClient reads and writes the host's key-value store. Keys belong to the node: two
// nodes never see each other's keys. Needs abi.CapabilityKV. Safe for concurrent use by
// multiple goroutines.
type KVClient struct{}

// KV is the kv capability client.
var KV KVClient

// Get returns the value of key and whether it was found (abi.OpKVGet); a missing key is
// not an error.
func (KVClient) Get(key string) (value []byte, found bool, err error) {
	var resp abi.KVGetResponse
	if err := callHost(abi.OpKVGet, abi.KVKeyRequest{Key: key}, &resp); err != nil {
		return nil, false, err
	}
	return resp.Value, resp.Found, nil
}

// Put sets key to value (abi.OpKVPut); nil is stored as an empty value.
func (KVClient) Put(key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return callHost(abi.OpKVPut, abi.KVPutRequest{Key: key, Value: value}, nil)
}

// Delete removes key and reports whether it existed (abi.OpKVDelete).
func (KVClient) Delete(key string) (existed bool, err error) {
	var resp abi.KVDeleteResponse
	if err := callHost(abi.OpKVDelete, abi.KVKeyRequest{Key: key}, &resp); err != nil {
		return false, err
	}
	return resp.Existed, nil
}

// List returns up to limit entries whose keys start with prefix, sorted by key
// (abi.OpKVList). An empty prefix lists every key; limit 0 means the host's limit.
func (KVClient) List(prefix string, limit int) ([]abi.KVEntry, error) {
	var resp abi.KVListResponse
	if err := callHost(abi.OpKVList, abi.KVListRequest{Prefix: prefix, Limit: limit}, &resp); err != nil {
		return nil, err
	}
	return resp.Entries, nil
}

// HTTPClient sends requests to hosts matching a pattern the operator granted, each behind
// the host's circuit breaker for that host. Needs abi.CapabilityHTTP. Safe for concurrent
// use by multiple goroutines.
type HTTPClient struct{}

// HTTP is the http capability client.
var HTTP HTTPClient

// Do sends req and returns the response (abi.OpHTTPRequest). A response whose status is
// not one of req.SuccessCodes (default 200-299) is an error: abi.StatusUnavailable,
// retryable, for 5xx and 429, abi.StatusError otherwise. Set req.Compensate to the
// request that undoes this one on rollback; without it the request is recorded as
// irreversible.
func (HTTPClient) Do(req abi.HTTPRequest) (abi.HTTPResponse, error) {
	var resp abi.HTTPResponse
	if err := callHost(abi.OpHTTPRequest, req, &resp); err != nil {
		return abi.HTTPResponse{}, err
	}
	return resp, nil
}

// EventsClient publishes event envelopes on the host's event bus. Needs
// abi.CapabilityEvents, and the topic must be listed in the manifest's Publishes. Safe
// for concurrent use by multiple goroutines.
type EventsClient struct{}

// Events is the events capability client.
var Events EventsClient

// Publish hands e to the host (abi.OpEventsPublish) and returns the envelope ID the host
// assigned. The host holds the event until the attempt
// commits and drops it on rollback, so a subscriber never sees an event of a failed
// attempt. An event that breaks abi.Event.Validate's rules is refused with
// abi.StatusInvalidInput; a Payload that is not valid JSON fails before reaching the
// host, with the same status.
func (EventsClient) Publish(e abi.Event) (envelopeID string, err error) {
	var resp abi.EventsPublishResponse
	if err := callHost(abi.OpEventsPublish, e, &resp); err != nil {
		return "", err
	}
	return resp.EnvelopeID, nil
}
