package main

import (
	"regexp"
	"strconv"
	"strings"
)

// tagCore is the MAJOR.MINOR.PATCH a tagged build's version starts with (v1.2.3…).
var tagCore = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)`)

// notIdentifier matches what a semantic version's pre-release identifier cannot hold.
var notIdentifier = regexp.MustCompile(`[^0-9A-Za-z-]+`)

// serviceVersion is this build's version (versionOnly) as the cluster's NATS micro service
// reports it, and the status page's member table shows it. micro accepts only semantic
// versions, so a tagged build's "v0.3.0-12-g1a2b3c4d" becomes "0.3.0-12-g1a2b3c4d" and an
// untagged one's "1a2b3c4d-dirty" or "(devel)" a pre-release of 0.0.0
// ("0.0.0-1a2b3c4d-dirty", "0.0.0-devel").
func serviceVersion() string { return semverOf(versionOnly()) }

// semverOf turns a build version into a semantic version (see serviceVersion).
func semverOf(v string) string {
	core, rest := "0.0.0", v
	if m := tagCore.FindStringSubmatch(v); m != nil {
		nums := make([]string, 3)
		for i, s := range m[1:] {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return "0.0.0"
			}
			nums[i] = strconv.FormatUint(n, 10) // no leading zeros
		}
		core, rest = strings.Join(nums, "."), v[len(m[0]):]
	}
	var ids []string
	for _, id := range notIdentifier.Split(rest, -1) {
		if id = strings.Trim(id, "-"); id == "" {
			continue
		}
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			id = strconv.FormatUint(n, 10) // a numeric identifier has no leading zeros
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return core
	}
	return core + "-" + strings.Join(ids, ".")
}
