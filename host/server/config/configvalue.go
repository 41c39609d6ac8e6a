package config

import (
	"os"

	"go.yaml.in/yaml/v3"
)

// ConfigValue is one value of a node's config (NodeEntry.Config): a plain string, or a
// reference to an environment variable, so that a secret need not be written in the
// file:
//
//	config:
//	  greeting: hello
//	  api_token: {from_env: MAILER_TOKEN}
//
// A from_env variable that is not set leaves the key without a value (the manifest's
// default, or a load error for a required key).
type ConfigValue struct {
	Value   string
	FromEnv string // the environment variable; "" for a plain value
}

// UnmarshalYAML decodes a scalar or a {from_env: NAME} mapping.
func (v *ConfigValue) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*v = ConfigValue{Value: n.Value}
		return nil
	}
	var ref struct {
		FromEnv string `yaml:"from_env"`
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 || n.Content[0].Value != "from_env" {
		return nodeError(n, "want a string or {from_env: VARIABLE}")
	}
	if err := n.Decode(&ref); err != nil || ref.FromEnv == "" {
		return nodeError(n, "from_env: want the name of an environment variable")
	}
	*v = ConfigValue{FromEnv: ref.FromEnv}
	return nil
}

// lookup returns the value and whether there is one.
func (v ConfigValue) lookup() (string, bool) {
	if v.FromEnv != "" {
		return os.LookupEnv(v.FromEnv)
	}
	return v.Value, true
}
