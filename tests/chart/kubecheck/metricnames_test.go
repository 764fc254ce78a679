package main

// The registry of metric and label names the daemons register, read from
// the C sources (SOURCES = the repository root): the Grafana dashboard and
// the alert rules only mean something while the metrics they query exist,
// so a renamed metric fails the chart tests rather than showing as an empty
// panel or an alert that never fires.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
