package abi

import (
	"fmt"
	"regexp"
	"strings"
)

// ConfigKey declares one configuration value a node reads with the ImportConfig host
// function (sdk.Config in Go). The operator supplies the values: the serve configuration
// file, --config KEY=VALUE, and for secrets the environment (see SecretEnvName). A key
// the node does not declare is refused at load, and so is a missing Required one.
type ConfigKey struct {
	Name        string `json:"name"`                  // required; see ValidConfigKey
	Description string `json:"description,omitempty"` // one line for the operator
	// Required fails the load when no value is given; a required key has no Default.
	Required bool `json:"required,omitempty"`
	// Default is the value of an optional key the operator leaves unset; nil: no value
	// (ImportConfig reports StatusNotFound).
	Default *string `json:"default,omitempty"`
	// Secret marks a value the host never shows: not in logs, inspect, the API, errors or
	// traces. A secret has no Default (a default in a manifest is not secret).
	Secret bool `json:"secret,omitempty"`
}

var configKeyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// ValidConfigKey reports whether s may name a config key: 1–64 ASCII letters, digits and
// '_', starting with a letter. (Keys become parts of environment variable names.)
func ValidConfigKey(s string) bool { return configKeyPattern.MatchString(s) }

// SecretEnvPrefix starts the environment variable a host reads a secret config key from.
const SecretEnvPrefix = "ONEX_SECRET_"

// SecretEnvName returns the environment variable holding the secret key of node:
// ONEX_SECRET_<NODE>_<KEY>, both upper-cased, every character of the node name that is
// not a letter or digit ('-', '.') becoming '_'. For node "mail-out" and key api_token:
// ONEX_SECRET_MAIL_OUT_API_TOKEN.
func SecretEnvName(node, key string) string {
	up := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
				return r
			}
			return '_'
		}, s)
	}
	return SecretEnvPrefix + up(node) + "_" + up(key)
}

// validateConfig checks the config declarations of a manifest.
func validateConfig(keys []ConfigKey) error {
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		switch {
		case !ValidConfigKey(k.Name):
			return fmt.Errorf("config[%d].name %q must be 1-64 of [A-Za-z0-9_] starting with a letter", i, k.Name)
		case seen[k.Name]:
			return fmt.Errorf("config[%d].name %q is declared twice", i, k.Name)
		case k.Required && k.Default != nil:
			return fmt.Errorf("config[%d] %q is required and has a default: drop one", i, k.Name)
		case k.Secret && k.Default != nil:
			return fmt.Errorf("config[%d] %q is secret and has a default: a manifest is not secret", i, k.Name)
		}
		seen[k.Name] = true
	}
	return nil
}

// ConfigKeyNamed returns the declaration of key and whether the manifest declares it.
func (m *Manifest) ConfigKeyNamed(key string) (ConfigKey, bool) {
	for _, k := range m.Config {
		if k.Name == key {
			return k, true
		}
	}
	return ConfigKey{}, false
}
