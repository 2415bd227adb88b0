package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/pipeline"
)

// yamlKeys lists the config keys of typ as docs/config.md names them:
// nested structs as parent.key, list elements as parent[].key.
func yamlKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		switch ft := f.Type; {
		case ft.Kind() == reflect.Struct && ft.String() != "time.Time":
			keys = append(keys, yamlKeys(ft, prefix+name+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			keys = append(keys, prefix+name)
			keys = append(keys, yamlKeys(ft.Elem(), prefix+name+"[].")...)
		default:
			keys = append(keys, prefix+name)
		}
	}
	return keys
}

// TestConfigKeysDocumented fails when a run-config key has no row in
// docs/config.md.
func TestConfigKeysDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/config.md")
	require.NoError(t, err)
	doc := string(b)
	keys := yamlKeys(reflect.TypeFor[pipeline.RunConfig](), "")
	require.Contains(t, keys, "models[].params")
	require.Contains(t, keys, "report.formats")
	for _, k := range keys {
		if k == "models" {
			assert.Contains(t, doc, "`models` is a list")
			continue
		}
		assert.Contains(t, doc, "| `"+k+"`", "docs/config.md has no row for %s", k)
	}
}
