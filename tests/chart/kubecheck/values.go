package main

import (
	"fmt"
	"strings"

	yamlv3 "gopkg.in/yaml.v3"
)

// ValuesDoc renders a Markdown table of every value in a chart's
// values.yaml: its dotted key, default and description, the description
// being the key's `# -- ` comment (continued by the `#` lines after it).
// A value without such a comment is an error, so every value is documented.
// Maps and lists with a comment are one row (their default shown as YAML);
// maps without one are described key by key.
func ValuesDoc(data []byte) (string, error) {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(data, &root); err != nil {
		return "", err
	}
	if len(root.Content) != 1 || root.Content[0].Kind != yamlv3.MappingNode {
		return "", fmt.Errorf("values.yaml is not a mapping")
	}
	var b strings.Builder
	var missing []string
	b.WriteString("| value | default | description |\n|---|---|---|\n")
	var walk func(prefix string, m *yamlv3.Node)
	walk = func(prefix string, m *yamlv3.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			key := prefix + k.Value
			desc, ok := description(k.HeadComment)
			if !ok && v.Kind == yamlv3.MappingNode && len(v.Content) > 0 {
				walk(key+".", v)
				continue
			}
			if !ok {
				missing = append(missing, key)
				continue
			}
			b.WriteString(fmt.Sprintf("| `%s` | %s | %s |\n", key, defaultOf(v), desc))
		}
	}
	walk("", root.Content[0])
	if len(missing) > 0 {
		return "", fmt.Errorf("values without a `# -- ` description: %s", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

func description(comment string) (string, bool) {
	lines := strings.Split(comment, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "# -- ") {
			words := []string{strings.TrimPrefix(l, "# -- ")}
			for _, c := range lines[i+1:] {
				words = append(words, strings.TrimSpace(strings.TrimPrefix(c, "#")))
			}
			return strings.ReplaceAll(strings.Join(words, " "), "|", "\\|"), true
		}
	}
	return "", false
}

func defaultOf(v *yamlv3.Node) string {
	out, err := yamlv3.Marshal(v)
	if err != nil {
		return "?"
	}
	s := strings.TrimSpace(string(out))
	if v.Kind == yamlv3.MappingNode || v.Kind == yamlv3.SequenceNode {
		var flow yamlv3.Node = *v
		setFlow(&flow)
		if o, err := yamlv3.Marshal(&flow); err == nil {
			s = strings.TrimSpace(string(o))
		}
	}
	if s == "" || s == `""` {
		return "`\"\"`"
	}
	return "`" + strings.ReplaceAll(s, "|", "\\|") + "`"
}

func setFlow(n *yamlv3.Node) {
	n.Style |= yamlv3.FlowStyle
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for i := range n.Content {
		c := *n.Content[i]
		setFlow(&c)
		n.Content[i] = &c
	}
}
