package main

// The Grafana dashboard and the alert rules only mean something while the
// metrics they query exist: these tests check the dashboard's shape and
// that every drover metric and label named in a dashboard query or an
// alert expression is one the daemons register (found in the C sources,
// SOURCES = the repository root), so a renamed metric fails here rather
// than as an empty panel or an alert that never fires.

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
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
)

// Metrics from outside drover the rules may use, with their labels.
var externalMetrics = map[string][]string{
	"kube_pod_container_status_restarts_total": {"container"}, // kube-state-metrics
}

// Labels Prometheus adds to every target a ServiceMonitor scrapes, plus le.
var targetLabels = []string{"namespace", "job", "pod", "instance", "service", "endpoint", "container", "le", "__name__"}

var (
	registerRe = regexp.MustCompile(`drv_metrics_(counter|gauge|histogram)\(\s*[^,]+,\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"`)
	labelArrRe = regexp.MustCompile(`\{\s*((?:"[a-z_]+",\s*)+)NULL\s*\}`)
	quotedRe   = regexp.MustCompile(`"([a-z_]+)"`)
	metricRe   = regexp.MustCompile(`\b(drover|kube)_[a-zA-Z0-9_:]*`)
	byRe       = regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\(([^)]*)\)`)
	matcherRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	labelValRe = regexp.MustCompile(`label_values\(.*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)`)
)

// registered reads the metric names (histograms with their _bucket, _sum
// and _count series) and label names the daemons register.
func registered(t *testing.T) (metrics, labels map[string]bool) {
	t.Helper()
	root := env(t, "SOURCES")
	metrics, labels = map[string]bool{}, map[string]bool{}
	for _, dir := range []string{"core", "worker", "coordinator", "api"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.c"))
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range registerRe.FindAllStringSubmatch(string(src), -1) {
				metrics[m[2]] = true
				if m[1] == "histogram" {
					for _, s := range []string{"_bucket", "_sum", "_count"} {
						metrics[m[2]+s] = true
					}
				}
			}
			for _, m := range labelArrRe.FindAllStringSubmatch(string(src), -1) {
				for _, l := range quotedRe.FindAllStringSubmatch(m[1], -1) {
					labels[l[1]] = true
				}
			}
		}
	}
	if len(metrics) < 30 || !metrics["drover_dlq_depth"] || !labels["handler"] {
		t.Fatalf("found only %d metrics and %d labels in %s: has the registration call changed?", len(metrics), len(labels), root)
	}
	for m, ls := range externalMetrics {
		metrics[m] = true
		for _, l := range ls {
			labels[l] = true
		}
	}
	for _, l := range targetLabels {
		labels[l] = true
	}
	return metrics, labels
}

// unknownNames lists the metric and label names in a PromQL expression (or
// a Grafana label_values query) that are not registered.
func unknownNames(expr string, metrics, labels map[string]bool) []string {
	var bad []string
	for _, m := range metricRe.FindAllString(expr, -1) {
		if !metrics[m] {
			bad = append(bad, "metric "+m)
		}
	}
	var names []string
	for _, m := range byRe.FindAllStringSubmatch(expr, -1) {
		names = append(names, strings.Split(m[1], ",")...)
	}
	for _, m := range matcherRe.FindAllStringSubmatch(expr, -1) {
		names = append(names, m[1])
	}
	for _, m := range labelValRe.FindAllStringSubmatch(expr, -1) {
		names = append(names, m[1])
	}
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" && !labels[n] {
			bad = append(bad, "label "+n)
		}
	}
	return bad
}

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

type alertRule struct{ Alert, Expr string }

// alertRules: the rules of the rendered PrometheusRules.
func alertRules(objs []Object) []alertRule {
	var rules []alertRule
	for _, pr := range all[monitoringv1.PrometheusRule](objs) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				rules = append(rules, alertRule{Alert: r.Alert, Expr: r.Expr.String()})
			}
		}
	}
	return rules
}

func alertNames(rules []alertRule) string {
	var n []string
	for _, r := range rules {
		n = append(n, r.Alert)
	}
	return strings.Join(n, " ")
}

// Every alert expression names registered metrics and labels only, and
// the selectors match the jobs of this release's metrics Services.
func TestAlertRulesUseRegisteredMetrics(t *testing.T) {
	metrics, labels := registered(t)
	objs := render(t, nil, "prometheusRule.enabled=true")
	rules := alertRules(objs)
	if len(rules) != 9 {
		t.Fatalf("prometheusRule.enabled renders %d rules: %s", len(rules), alertNames(rules))
	}
	services := map[string]bool{}
	for _, s := range all[corev1.Service](objs) {
		services[s.Name] = true
	}
	jobRe := regexp.MustCompile(`job="([^"]*)"`)
	for _, r := range rules {
		for _, bad := range unknownNames(r.Expr, metrics, labels) {
			t.Errorf("%s: unknown %s in %s", r.Alert, bad, r.Expr)
		}
		for _, m := range jobRe.FindAllStringSubmatch(r.Expr, -1) {
			if !services[m[1]] {
				t.Errorf("%s: job %q is no Service of the release", r.Alert, m[1])
			}
		}
	}
	if len(alertRules(render(t, nil))) != 0 {
		t.Error("the alert rules are rendered by default")
	}
	// The coordinators' alerts go with them; each alert can be turned off.
	want := "DroverBreakerOpen DroverConsumerLagHigh DroverPodRestarting DroverTaskFailuresHigh DroverWorkerFetchPaused"
	if got := alertNames(alertRules(render(t, nil, "prometheusRule.enabled=true", "coordinator.enabled=false"))); got != want {
		t.Errorf("without coordinators the alerts are %q, want %q", got, want)
	}
	if got := alertNames(alertRules(render(t, nil, "prometheusRule.enabled=true", "prometheusRule.noLeader.enabled=false"))); strings.Contains(got, "DroverNoLeader") {
		t.Errorf("noLeader.enabled=false still renders it: %s", got)
	}
}
