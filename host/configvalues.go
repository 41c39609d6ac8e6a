package host

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/onexhost/onex-host/abi"
)

// configValues are a plugin's resolved config values (abi.ConfigKey), read by its
// instances through the onex.config host function. It is immutable once built.
type configValues struct {
	// declared is false for an Extism plugin whose manifest declares no keys: its config
	// is free-form, and the native ABI's config function is never called.
	declared bool
	values   map[string]string
}

// value returns key's value and the status of onex.config: StatusNotFound for a
// declared key without a value, StatusInvalidInput for an undeclared key.
func (c *configValues) value(m *abi.Manifest, key string) (string, abi.Status) {
	if c == nil {
		return "", abi.StatusNotFound // the manifest is not known yet (onex_manifest runs)
	}
	if v, ok := c.values[key]; ok {
		return v, abi.StatusOK
	}
	if _, ok := m.ConfigKeyNamed(key); ok || !c.declared {
		return "", abi.StatusNotFound
	}
	return "", abi.StatusInvalidInput
}

// resolveConfig merges the operator's values (pc.Extism.Config, then pc.Config, which
// wins) with the manifest's declarations: an undeclared key fails, a declared key takes
// the operator's value, else (secrets) the environment through pc.Env, else its default;
// a required key left without a value fails (unless pc.Inspect). Errors wrap ErrInvalidConfig and name keys,
// never values. free allows undeclared keys when the manifest declares none (Extism).
func resolveConfig(m *abi.Manifest, pc PluginConfig, free bool) (*configValues, error) {
	given := make(map[string]string, len(pc.Config)+len(pc.Extism.Config))
	maps.Copy(given, pc.Extism.Config)
	maps.Copy(given, pc.Config)
	if free && len(m.Config) == 0 {
		return &configValues{values: given}, nil
	}
	var names []string
	for _, k := range m.Config {
		names = append(names, k.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if _, ok := m.ConfigKeyNamed(k); !ok {
			declared := "it declares none"
			if len(names) > 0 {
				declared = "it declares " + strings.Join(names, ", ")
			}
			return nil, fmt.Errorf("%w: config key %q is not declared by node %s (%s)", ErrInvalidConfig, k, m.Name, declared)
		}
	}
	values := make(map[string]string, len(m.Config))
	for _, k := range m.Config {
		v, ok := given[k.Name]
		if !ok && k.Secret && pc.Env != nil {
			v, ok = pc.Env(abi.SecretEnvName(m.Name, k.Name))
		}
		if !ok && k.Default != nil {
			v, ok = *k.Default, true
		}
		if ok {
			values[k.Name] = v
			continue
		}
		if k.Required && !pc.Inspect { // a node is described without its values
			how := "--config " + k.Name + "=VALUE or config: in the serve file"
			if k.Secret {
				how = "$" + abi.SecretEnvName(m.Name, k.Name) + ", " + how
			}
			return nil, fmt.Errorf("%w: required config key %q of node %s has no value (set it with %s)", ErrInvalidConfig, k.Name, m.Name, how)
		}
	}
	return &configValues{declared: true, values: values}, nil
}

// setConfig resolves and installs the plugin's config values for its manifest.
func (p *Plugin) setConfig(m *abi.Manifest, pc PluginConfig, free bool) error {
	c, err := resolveConfig(m, pc, free)
	if err != nil {
		return &PluginError{Plugin: p.name, Op: "load", Kind: ErrInvalidConfig,
			Message: strings.TrimPrefix(err.Error(), ErrInvalidConfig.Error()+": ")}
	}
	p.config.Store(c)
	return nil
}
