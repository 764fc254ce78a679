package main

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// RulesFile turns the PrometheusRule objects of rendered manifests into
// one Prometheus rule file (their spec.groups), the form `promtool check
// rules` and `promtool test rules` read. No PrometheusRule is an error:
// the caller rendered the rules on purpose.
func RulesFile(name string, data []byte) ([]byte, error) {
	objs, problems := Decode(name, data)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", problems[0])
	}
	var groups []any
	for _, o := range objs {
		if o.GVK.Kind != "PrometheusRule" {
			continue
		}
		var obj struct {
			Spec struct {
				Groups []any `json:"groups"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(o.Raw, &obj); err != nil {
			return nil, fmt.Errorf("%s: %v", o.Source, err)
		}
		groups = append(groups, obj.Spec.Groups...)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("%s: no PrometheusRule with rule groups", name)
	}
	return yaml.Marshal(map[string]any{"groups": groups})
}
