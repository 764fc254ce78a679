package main

// The Grafana dashboard (helm/drover/dashboards/drover.json): Grafana's
// schema, its shape (variables, data sources, grid, filters), the metrics
// it names (metricnames_test.go) and the ConfigMap that carries it.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	grafanadash "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	corev1 "k8s.io/api/core/v1"
)

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasource              `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Datasource *datasource `json:"datasource"`
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string      `json:"name"`
			Type       string      `json:"type"`
			Query      any         `json:"query"`
			Definition string      `json:"definition"`
			Datasource *datasource `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

func readDashboard(t *testing.T) ([]byte, dashboard) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(env(t, "CHART"), "dashboards", "drover.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboards/drover.json is not valid JSON: %v", err)
	}
	return raw, d
}

// A Prometheus query through the ${datasource} variable.
func promDS(ds *datasource) bool {
	return ds != nil && ds.Type == "prometheus" && ds.UID == "${datasource}"
}

// TestDashboardSchema decodes the dashboard strictly into Grafana's own
// schema types (grafana-foundation-sdk, generated from the schemas Grafana
// validates with; the panel plugins' options and the Prometheus query
// included): an unknown or misspelt field, a wrong type or a field Grafana
// requires that is missing fails.
func TestDashboardSchema(t *testing.T) {
	raw, _ := readDashboard(t)
	plugins.RegisterDefaultPlugins()
	var d grafanadash.Dashboard
	err := d.UnmarshalJSONStrict(raw)
	// v0.0.22 returns an empty cog.BuildErrors as a non-nil error.
	if errs, ok := err.(cog.BuildErrors); ok && len(errs) == 0 {
		err = nil
	}
	if err != nil {
		t.Errorf("dashboards/drover.json against Grafana's dashboard schema:\n%v", err)
	}
}

func TestDashboard(t *testing.T) {
	metrics, labels := registered(t)
	_, d := readDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 39 {
		t.Errorf("dashboard uid %q title %q schemaVersion %d: want both set and a current schema (>= 39)", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch {
		case v.Name == "datasource":
			if v.Type != "datasource" || v.Query != "prometheus" {
				t.Errorf("variable datasource: type %q query %v, want a Prometheus datasource variable", v.Type, v.Query)
			}
		case v.Type == "query":
			if !promDS(v.Datasource) {
				t.Errorf("variable %s does not query ${datasource}", v.Name)
			}
			q, _ := v.Query.(string)
			if q == "" || q != v.Definition {
				t.Errorf("variable %s: query %v, definition %q: want the same label_values query", v.Name, v.Query, v.Definition)
			}
			for _, bad := range unknownNames(q, metrics, labels) {
				t.Errorf("variable %s: unknown %s", v.Name, bad)
			}
		}
	}
	for _, want := range []string{"datasource", "namespace", "job"} {
		if !vars[want] {
			t.Errorf("no $%s variable", want)
		}
	}
	ids := map[int]string{}
	queried := map[string]bool{}
	var check func(p panel)
	check = func(p panel) {
		if prev, dup := ids[p.ID]; dup || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or also used by %q", p.Title, p.ID, prev)
		}
		ids[p.ID] = p.Title
		g := p.GridPos
		if g.W < 1 || g.H < 1 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v off the 24-column grid", p.Title, g)
		}
		if p.Type == "row" {
			for _, c := range p.Panels {
				check(c)
			}
			return
		}
		if p.Title == "" || !promDS(p.Datasource) || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: needs a title, the ${datasource} datasource and targets", p.ID, p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] || !promDS(tg.Datasource) {
				t.Errorf("panel %q: target %q needs an expr, a unique refId and ${datasource}", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if !strings.Contains(tg.Expr, `namespace=~"$namespace", job=~"$job"`) {
				t.Errorf("panel %q: %s does not filter on $namespace and $job", p.Title, tg.Expr)
			}
			for _, bad := range unknownNames(tg.Expr, metrics, labels) {
				t.Errorf("panel %q: unknown %s in %s", p.Title, bad, tg.Expr)
			}
			for _, m := range metricRe.FindAllString(tg.Expr, -1) {
				queried[strings.TrimSuffix(m, "_bucket")] = true
			}
		}
	}
	for _, p := range d.Panels {
		check(p)
	}
	// Every drover metric has a panel (new ones need one too).
	var unshown []string
	for m := range metrics {
		if strings.HasPrefix(m, "drover_") && !queried[m] && !regexp.MustCompile(`_(bucket|sum|count)$`).MatchString(m) {
			unshown = append(unshown, m)
		}
	}
	sort.Strings(unshown)
	if len(unshown) > 0 {
		t.Errorf("metrics no dashboard panel shows: %v", unshown)
	}
}

// The ConfigMap carries the file as it is, with the sidecar's label.
func TestDashboardConfigMap(t *testing.T) {
	raw, _ := readDashboard(t)
	if len(render(t, nil)) != len(render(t, nil, "grafana.dashboard.enabled=false")) {
		t.Error("the dashboard is rendered by default")
	}
	objs := render(t, nil, "grafana.dashboard.enabled=true", "grafana.dashboard.namespace=monitoring")
	cm := find[corev1.ConfigMap](objs, "rel-drover-dashboard")
	if cm == nil {
		t.Fatal("grafana.dashboard.enabled renders no ConfigMap rel-drover-dashboard")
	}
	if cm.Labels["grafana_dashboard"] != "1" || cm.Namespace != "monitoring" {
		t.Errorf("ConfigMap labels %v namespace %q", cm.Labels, cm.Namespace)
	}
	if strings.TrimSpace(cm.Data["drover.json"]) != strings.TrimSpace(string(raw)) {
		t.Error("the ConfigMap's drover.json differs from dashboards/drover.json")
	}
}
