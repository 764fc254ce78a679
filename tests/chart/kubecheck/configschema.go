package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ChartOwned are drover keys the chart's `config:` may not set: the chart
// sets them itself (worker.http_*, from worker.httpPort), or they are
// secrets that must come from a Secret (redis.password).
var ChartOwned = map[string]bool{
	"redis.password": true, "worker.http_host": true, "worker.http_port": true,
	"api.host": true, "api.port": true,
}

var (
	sectionRe = regexp.MustCompile(`^## ([a-z_]+)\s*$`)
	rangeRe   = regexp.MustCompile(`^\[(-?[0-9]+), (-?[0-9]+)\]$`)
	nameRe    = `^[a-z0-9_.-]{1,64}$`
)

// durationSchema accepts what drover parses as a duration.
func durationSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string", "pattern": `^([0-9]+(ms|s|m|h|d))+$|^[0-9]+$`},
		map[string]any{"type": "integer", "minimum": 0},
	}}
}

// keySchema is the JSON schema of one key from its reference row.
func keySchema(typ, rng string) map[string]any {
	rng = strings.TrimSpace(rng)
	switch typ {
	case "string":
		if rng == "non-empty" {
			return map[string]any{"type": "string", "minLength": 1}
		}
		return map[string]any{"type": "string"}
	case "integer":
		s := map[string]any{"type": "integer"}
		if m := rangeRe.FindStringSubmatch(rng); m != nil {
			lo, _ := strconv.Atoi(m[1])
			hi, _ := strconv.Atoi(m[2])
			s["minimum"], s["maximum"] = lo, hi
		}
		return s
	case "number":
		return map[string]any{"type": "number"}
	case "boolean":
		return map[string]any{"type": "boolean"}
	case "duration":
		return durationSchema()
	case "enum":
		var vals []any
		for _, v := range strings.Split(rng, ",") {
			vals = append(vals, strings.TrimSpace(v))
		}
		return map[string]any{"enum": vals}
	case "list of durations":
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "array", "items": durationSchema()},
			map[string]any{"type": "string"},
		}}
	case "list of integers":
		return map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}
	case "list of strings, or string":
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			map[string]any{"type": "string"},
		}}
	case "map of strings":
		return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": []any{"string", "number", "boolean"}}}
	}
	return map[string]any{} // a type this generator does not know: anything
}

// ConfigSchema derives the JSON schema of the chart's `config:` value from
// `droverctl config reference` (docs/config.md): one property per section;
// a section of `section.key` rows is an object of those keys (less
// ChartOwned); a section whose rows name bare keys and that says "A map of"
// is a map of names to objects of those keys; any other section accepts
// anything. Unknown keys are refused everywhere the reference lists keys.
func ConfigSchema(reference string) (map[string]any, error) {
	type section struct {
		name   string
		text   string
		keys   map[string]any
		prefix bool
	}
	var secs []*section
	var cur *section
	inKeyTable := false
	for _, l := range strings.Split(reference, "\n") {
		if m := sectionRe.FindStringSubmatch(l); m != nil {
			cur = &section{name: m[1], keys: map[string]any{}}
			secs = append(secs, cur)
			inKeyTable = false
			continue
		}
		if cur == nil {
			continue
		}
		if !strings.HasPrefix(l, "|") {
			inKeyTable = false
			cur.text += l + "\n"
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) >= 4 && cells[0] == "key" && cells[1] == "type" {
			inKeyTable = true
			continue
		}
		if !inKeyTable || strings.HasPrefix(cells[0], "---") || len(cells) < 4 {
			continue
		}
		key := strings.Trim(cells[0], "`")
		if strings.HasPrefix(key, cur.name+".") {
			cur.prefix = true
			if ChartOwned[key] {
				continue
			}
			key = strings.TrimPrefix(key, cur.name+".")
		}
		cur.keys[key] = keySchema(cells[1], cells[3])
	}
	if len(secs) == 0 {
		return nil, fmt.Errorf("no sections in the config reference")
	}
	props := map[string]any{}
	for _, s := range secs {
		switch {
		case s.prefix:
			if s.name == "kafka" {
				s.keys["properties"] = map[string]any{
					"type":                 "object",
					"description":          "librdkafka properties; no passwords here (secrets.kafkaSasl)",
					"additionalProperties": map[string]any{"type": []any{"string", "number", "boolean"}},
					"propertyNames": map[string]any{"pattern": `^[A-Za-z0-9._-]+$`, "not": map[string]any{
						"enum": []any{"bootstrap.servers", "metadata.broker.list", "client.id", "group.id"}}},
				}
			}
			props[s.name] = map[string]any{"type": "object", "additionalProperties": false, "properties": s.keys}
		case len(s.keys) > 0 && strings.Contains(s.text, "A map of"):
			props[s.name] = map[string]any{
				"type":          "object",
				"propertyNames": map[string]any{"pattern": nameRe},
				"additionalProperties": map[string]any{
					"type": "object", "additionalProperties": false, "properties": s.keys},
			}
		default:
			props[s.name] = map[string]any{}
		}
	}
	return map[string]any{
		"type":                 "object",
		"description":          "drover.yaml; generated from `droverctl config reference` by tests/chart/run (DROVER_UPDATE_DOCS=1)",
		"additionalProperties": false,
		"properties":           props,
	}, nil
}
